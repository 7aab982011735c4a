import type { StructuredLogger } from '@carshare/platform';

export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** Test double: keeps every line so tests can assert "logged once per transition". */
export function recordingLogger(): StructuredLogger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}
