import { v7 as uuidv7 } from 'uuid';

/** Ids are UUIDv7: time-ordered, so B-tree inserts stay local and cursors sort by creation. */
export interface IdGenerator {
  next(): string;
}

export const uuidV7Ids: IdGenerator = {
  next: () => uuidv7(),
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
