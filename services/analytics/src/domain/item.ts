import { isStaff } from '@carshare/contracts';
import { InvalidArgument, type Caller } from '@carshare/platform';

/** Replace with the analytics service's own entities; the shape of the folder stays. */
export interface Item {
  id: string;
  ownerId: string;
  name: string;
  /** Epoch milliseconds; the wire form is ISO-8601. */
  createdAt: number;
}

export const itemNameLimits = { min: 1, max: 100 } as const;

/** A new item, its name trimmed: surrounding blanks are never what the owner meant. */
export function newItem(input: { id: string; ownerId: string; name: string; now: number }): Item {
  const name = input.name.trim();
  if (name.length < itemNameLimits.min || name.length > itemNameLimits.max) {
    throw InvalidArgument('INVALID_ITEM_NAME', `an item name has ${itemNameLimits.min} to ${itemNameLimits.max} visible characters`, { name: input.name });
  }
  return { id: input.id, ownerId: input.ownerId, name, createdAt: input.now };
}

/** Owners read their own items; operators read all. */
export function mayRead(item: Item, reader: Caller): boolean {
  return item.ownerId === reader.userId || isStaff(reader.role);
}
