// One HTTP exchange of a loopback provider mock: a client that goes away never crashes the mock, and its
// call never reads as completed.
import type { ServerResponse } from 'node:http';

export class Exchange {
  closed = false;

  constructor(
    readonly res: ServerResponse,
    readonly call: { completed: boolean },
  ) {
    res.on('error', () => {
      this.closed = true;
    });
    res.on('close', () => {
      this.closed = true;
      if (!res.writableFinished) call.completed = false;
    });
  }

  /** Returns false (and writes nothing) once the client has gone. */
  write(chunk: string): boolean {
    if (this.closed || this.res.destroyed) return false;
    this.res.write(chunk);
    return true;
  }

  end(chunk?: string): boolean {
    if (this.closed || this.res.destroyed) return false;
    this.res.end(chunk);
    this.call.completed = true;
    return true;
  }
}
