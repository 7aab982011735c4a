/**
 * The slice of a pino logger this package needs. Declared here so that resilience does not pull
 * in the observability stack: any pino instance (or child) satisfies it as is.
 */
export interface ResilienceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: ResilienceLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};
