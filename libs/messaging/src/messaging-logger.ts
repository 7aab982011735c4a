/** The slice of a pino logger this library uses, so any pino child logger fits. */
export interface MessagingLogger {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

export const silentLogger: MessagingLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};
