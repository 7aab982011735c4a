/** The slice of a pino logger this library uses, so any pino child logger fits. */
export interface SagaLogger {
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

export const silentSagaLogger: SagaLogger = {
  warn: () => {},
  error: () => {},
};
