import { Writable } from 'node:stream';

export interface LogLine {
  level: string;
  service?: string;
  traceId?: string;
  requestId?: string;
  msg?: string;
  [field: string]: unknown;
}

/** A pino destination that keeps every JSON line, so tests can read what services logged. */
export class LogCapture extends Writable {
  readonly lines: LogLine[] = [];
  readonly unparsed: string[] = [];
  #partial = '';

  constructor() {
    super({ decodeStrings: false });
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const pieces = (this.#partial + chunk.toString()).split('\n');
    this.#partial = pieces.pop() ?? '';
    for (const piece of pieces) {
      if (piece === '') continue;
      try {
        this.lines.push(JSON.parse(piece) as LogLine);
      } catch {
        this.unparsed.push(piece);
      }
    }
    callback();
  }

  /** Lines at `error` or `fatal`: in a healthy run there are none. */
  errors(): LogLine[] {
    return this.lines.filter((line) => line.level === 'error' || line.level === 'fatal');
  }
}
