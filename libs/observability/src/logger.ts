import { pino, type Logger, type LevelWithSilent } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level: LevelWithSilent;
  /** Human-friendly lines for a terminal; JSON for everything that a machine reads. */
  pretty: boolean;
  /** Tests capture lines here instead of stdout. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination ??
    (options.pretty
      ? PinoPretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ sync: false }));
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['password', '*.password', 'refreshToken', '*.refreshToken', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
