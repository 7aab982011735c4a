/**
 * The logging port of the libraries (messaging, resilience): the slice of a pino logger they
 * call, declared here so that they need not load the observability stack. Any pino instance or
 * child satisfies it as is.
 */
export interface StructuredLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** For wirings and tests that want no log lines. */
export const silentLogger: StructuredLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};
