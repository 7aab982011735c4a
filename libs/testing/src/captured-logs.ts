import { Writable } from 'node:stream';

export interface CapturedLogs {
  /** Give this to the logger as its destination (`createLogger({ destination })`). */
  readonly destination: Writable;
  /** Every JSON line written so far, parsed, oldest first. */
  lines(): Array<Record<string, unknown>>;
  /** The lines at `level` ('error', 'warn', …). */
  at(level: string): Array<Record<string, unknown>>;
  /** Everything written, as text: for asserting what must never appear (a secret, a hash). */
  text(): string;
}

/** Collects a pino logger's JSON lines in memory, so a test can assert what an operator would see. */
export function captureLogs(): CapturedLogs {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    destination,
    lines,
    at: (level) => lines().filter((line) => line['level'] === level),
    text: () => chunks.join(''),
  };
}
