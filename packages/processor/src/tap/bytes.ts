/*
 * Native byte searches over a Uint8Array, for the usage tap's hot path.
 *
 * Why not just Uint8Array.prototype.indexOf: it is a V8 builtin that scans about 3 GB/s, while Node's
 * Buffer#indexOf is memchr / a Boyer-Moore-Horspool string search in C++ (10-30 GB/s for a rare byte) and
 * also finds multi-byte needles. Buffer is used when the platform has it (Node, Bun, Deno), through a
 * zero-copy view; elsewhere the portable fallbacks below give the same answers, only slower.
 */

interface NodeBufferLike extends Uint8Array {
  indexOf(value: number | Uint8Array, byteOffset?: number): number;
  lastIndexOf(value: number | Uint8Array, byteOffset?: number): number;
}
interface NodeBufferCtor {
  from(arrayBuffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferLike;
}

const NodeBuffer: NodeBufferCtor | undefined = (() => {
  const candidate = (globalThis as { Buffer?: unknown }).Buffer;
  return typeof candidate === 'function' && typeof (candidate as { from?: unknown }).from === 'function'
    ? (candidate as unknown as NodeBufferCtor)
    : undefined;
})();

/** An ASCII needle as bytes (Buffer#indexOf takes any Uint8Array). */
export function needle(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * A searchable view of one chunk (or part of one). It does not copy the bytes and must not outlive the
 * push() call that made it: the parser never keeps a reference to a caller's chunk.
 */
export class Hay {
  readonly u8: Uint8Array;
  private readonly _nb: NodeBufferLike | undefined;

  constructor(u8: Uint8Array) {
    this.u8 = u8;
    this._nb = NodeBuffer !== undefined ? NodeBuffer.from(u8.buffer, u8.byteOffset, u8.byteLength) : undefined;
  }

  /** First index ≥ from of `byte`, or -1. */
  indexOfByte(byte: number, from: number): number {
    return this._nb !== undefined ? this._nb.indexOf(byte, from) : this.u8.indexOf(byte, from);
  }

  /** First index ≥ from where `seq` starts, or -1. */
  indexOf(seq: Uint8Array, from: number): number {
    if (this._nb !== undefined) return this._nb.indexOf(seq, from);
    return indexOfSeq(this.u8, seq, from);
  }
}

/** First index ≥ from in `hay` where `seq` starts, or -1. Portable. */
export function indexOfSeq(hay: Uint8Array, seq: Uint8Array, from: number): number {
  const n = seq.length;
  const first = seq[0];
  const last = hay.length - n;
  let i = hay.indexOf(first, from);
  while (i >= 0 && i <= last) {
    let k = 1;
    while (k < n && hay[i + k] === seq[k]) k++;
    if (k === n) return i;
    i = hay.indexOf(first, i + 1);
  }
  return -1;
}

/** Last index in [from, to - seq.length] where `seq` starts, or -1. Searches only that range. */
export function lastIndexOfSeqIn(hay: Uint8Array, seq: Uint8Array, from: number, to: number): number {
  const n = seq.length;
  if (to - from < n) return -1;
  // A bounded view: lastIndexOf on the whole chunk would rescan everything before `from` on each call.
  const view = hay.subarray(from, to);
  const i =
    NodeBuffer !== undefined
      ? NodeBuffer.from(view.buffer, view.byteOffset, view.byteLength).lastIndexOf(seq)
      : lastIndexOfSeq(view, seq);
  return i < 0 ? -1 : from + i;
}

/** Last index in `hay` where `seq` starts, or -1. Portable. */
export function lastIndexOfSeq(hay: Uint8Array, seq: Uint8Array): number {
  const n = seq.length;
  if (hay.length < n) return -1;
  const first = seq[0];
  let i = hay.lastIndexOf(first, hay.length - n);
  while (i >= 0) {
    let k = 1;
    while (k < n && hay[i + k] === seq[k]) k++;
    if (k === n) return i;
    i = i === 0 ? -1 : hay.lastIndexOf(first, i - 1);
  }
  return -1;
}

/** Below this many bytes a search stays in JavaScript: V8's builtin beats the call into C++. */
export const SHORT_RANGE = 2048;

/**
 * First index in [from, n) where `seq` starts within bytes[0, n), or -1. Short ranges use the portable
 * search (a few hundred bytes are scanned faster by V8's builtin indexOf than the call to Buffer#indexOf
 * costs); long ones use Buffer#indexOf.
 */
export function findSeq(bytes: Uint8Array, n: number, seq: Uint8Array, from = 0): number {
  const view = n === bytes.length ? bytes : bytes.subarray(0, n);
  return n - from <= SHORT_RANGE ? indexOfSeq(view, seq, from) : new Hay(view).indexOf(seq, from);
}

/** Whether bytes[at, at + seq.length) equal `seq`. */
export function startsWithAt(bytes: Uint8Array, at: number, seq: Uint8Array): boolean {
  if (at < 0 || at + seq.length > bytes.length) return false;
  for (let k = 0; k < seq.length; k++) if (bytes[at + k] !== seq[k]) return false;
  return true;
}
