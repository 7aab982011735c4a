import { InvalidArgument } from '@carshare/platform';

/** What a keyset position may hold: the sort key values of the last row of a page. */
export type CursorValue = string | number | boolean | null | Date | bigint;

// Cursors come back from clients, so decoding must reject anything odd cheaply and typed.
const maxCursorLength = 2048;
const base64UrlPattern = /^[A-Za-z0-9_-]+$/;

type EncodedValue = string | number | boolean | null | { d: string } | { b: string };

function encodeValue(value: unknown): EncodedValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (typeof value === 'bigint') {
    return { b: value.toString() };
  } else if (value instanceof Date) {
    if (!Number.isNaN(value.getTime())) return { d: value.toISOString() };
  }
  throw new TypeError(`cannot put a ${typeof value} (${describe(value)}) into a cursor: use strings, finite numbers, booleans, null, bigints or valid Dates`);
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

function decodeValue(value: unknown): CursorValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const tagged = value as Record<string, unknown>;
    if (keys.length === 1 && typeof tagged.d === 'string') {
      const date = new Date(tagged.d);
      if (!Number.isNaN(date.getTime())) return date;
    }
    if (keys.length === 1 && typeof tagged.b === 'string' && /^-?\d{1,40}$/.test(tagged.b)) return BigInt(tagged.b);
  }
  throw new Error('unexpected cursor value');
}

/**
 * Opaque keyset cursor: base64url JSON with Dates and bigints tagged so they come back as the
 * same types. Not signed: it only says where to resume, filters are applied on the server anyway.
 */
export function encodeCursor(values: readonly unknown[]): string {
  if (values.length === 0) throw new TypeError('a cursor needs at least one key value');
  return Buffer.from(JSON.stringify(values.map(encodeValue)), 'utf8').toString('base64url');
}

const invalidCursorMessage = 'the cursor is malformed; pass back a cursor returned by a previous page';

export function decodeCursor(cursor: string): CursorValue[] {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > maxCursorLength || !base64UrlPattern.test(cursor)) {
    throw InvalidArgument('INVALID_CURSOR', invalidCursorMessage);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('not a non-empty array');
    return parsed.map(decodeValue);
  } catch (error) {
    throw InvalidArgument('INVALID_CURSOR', invalidCursorMessage, {}, { cause: error });
  }
}
