import pg from 'pg';
import type { CustomTypesConfig } from 'pg';

const int8 = 20;
const int8Array = 1016;
const date = 1082;

// Mirrors PGlite, so a row reads the same on both engines: count(*) and bigint ids come back
// as numbers (bigint only beyond 2^53), and a date is UTC midnight whatever the process TZ.
function parseInt8(value: string): number | bigint {
  const parsed = BigInt(value);
  return parsed < Number.MIN_SAFE_INTEGER || parsed > Number.MAX_SAFE_INTEGER ? parsed : Number(parsed);
}

function mapNested(value: unknown, parse: (text: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => mapNested(item, parse));
  return typeof value === 'string' ? parse(value) : value;
}

function parseDate(value: string): Date | number {
  if (value === 'infinity') return Number.POSITIVE_INFINITY;
  if (value === '-infinity') return Number.NEGATIVE_INFINITY;
  return new Date(value);
}

// pg-types declares only scalar builtins as type ids; arrays (1016) are valid oids all the same.
const defaultParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (value: string) => unknown;
const parseTextArray = defaultParser(int8Array, 'text');

export const postgresTypeParsers: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === int8) return parseInt8;
      if (oid === int8Array) return (value: string) => mapNested(parseTextArray(value), parseInt8);
      if (oid === date) return parseDate;
    }
    return defaultParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};
