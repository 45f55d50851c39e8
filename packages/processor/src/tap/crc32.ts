/*
 * CRC-32 (IEEE 802.3, the zlib / PNG one), as the AWS event-stream encoding checks its prelude and each
 * message with. Table-driven, incremental: crc32(bytes, crc32(head)) === crc32(head + bytes).
 */

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** The CRC-32 of bytes[start, end), continuing from `previous` (the CRC of what came before; 0 to begin). */
export function crc32(bytes: Uint8Array, previous = 0, start = 0, end = bytes.length): number {
  let c = ~previous;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
