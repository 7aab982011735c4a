/**
 * The peers' user store: accounts in a Map, as our GetUser answers from its read cache. The
 * rider the benchmark logs in as (PEER_RIDER_ID) and a thousand others, shaped like ours.
 */
import { randomUUID } from 'node:crypto';

export function createUserStore(riderId) {
  const users = new Map();
  const add = (id, index) =>
    users.set(id, {
      id,
      email: `rider-${index}@carshare.local`,
      displayName: `Rider ${index}`,
      role: 'rider',
      plan: 'free',
      status: 'active',
      createdAt: new Date(Date.UTC(2026, 0, 1) + index * 60_000).toISOString(),
    });
  add(riderId, 0);
  for (let index = 1; index <= 1_000; index++) add(randomUUID(), index);
  return users;
}
