import { InvalidArgument, isUuid } from '@carshare/platform';
import { sql, type SelectQueryBuilder } from 'kysely';
import { decodeCursor, encodeCursor, type CursorValue } from './cursor.ts';

/** One page of a keyset-paginated list; `nextCursor` is absent on the last page. */
export interface KeysetPage<Row> {
  items: Row[];
  nextCursor?: string;
}

/** Tells whether a decoded cursor value can be a key of this list. */
export type KeyGuard<Key extends CursorValue> = (value: CursorValue) => value is Key;

/** The key guard for lists ordered by a UUID id (UUIDv7 ids sort by creation). */
export const isUuidKey: KeyGuard<string> = (value): value is string => typeof value === 'string' && isUuid(value);

const foreignCursorMessage = 'the cursor is not one this list gave out';

/**
 * The key a cursor of a single-key list holds. A cursor that decodes but holds something else
 * (another list's cursor, a forged one) is refused like a malformed one: read as a key it would
 * either fail in SQL with a type error or answer a silently wrong page.
 */
export function decodeCursorKey<Key extends CursorValue>(cursor: string, isKey: KeyGuard<Key>): Key {
  const values = decodeCursor(cursor);
  const [key] = values;
  if (values.length !== 1 || key === undefined || !isKey(key)) throw InvalidArgument('INVALID_CURSOR', foreignCursorMessage);
  return key;
}

interface PageShape<Key extends string> {
  /** A unique column the list is ordered by; the cursor holds its value in a page's last row. */
  key: Key;
  direction: 'asc' | 'desc';
  /** Rows per page, already checked by the caller (its limits are part of its contract). */
  limit: number;
}

/** Where the previous page ended: a client's cursor, checked with `isKey`, or a key already decoded. */
type PagePosition<Value extends CursorValue> = { cursor: string | undefined; isKey: KeyGuard<Value> } | { after: Value | undefined };

/**
 * Runs `query` (with its filters applied) as one keyset page: rows after the position, ordered
 * by `key`, one more fetched than shown to learn whether a next page exists. Keyset rather than
 * OFFSET so a page costs the same however deep it is and rows inserted meanwhile do not shift it.
 */
export async function paginate<DB, TB extends keyof DB, Row extends Record<Key, unknown>, Key extends string & keyof Row, Value extends CursorValue>(
  query: SelectQueryBuilder<DB, TB, Row>,
  options: PageShape<Key> & PagePosition<Value>,
): Promise<KeysetPage<Row>> {
  const after = 'after' in options ? options.after : options.cursor === undefined ? undefined : decodeCursorKey(options.cursor, options.isKey);
  const column = sql.ref(options.key);
  let select = query;
  if (after !== undefined) select = select.where(column, options.direction === 'desc' ? '<' : '>', after);
  const rows = await select.orderBy(column, options.direction).limit(options.limit + 1).execute();
  const items = rows.slice(0, options.limit);
  const last = items.at(-1);
  return rows.length > options.limit && last !== undefined ? { items, nextCursor: encodeCursor([last[options.key]]) } : { items };
}
