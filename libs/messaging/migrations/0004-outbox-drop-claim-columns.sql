-- 0001 gave the outbox claimed_by / claimed_until for relays that would lease rows. No relay
-- ever used them: relays that share the table lock their batch with FOR UPDATE SKIP LOCKED
-- until it is marked sent (outbox-relay.ts), so the columns and 0001's comment about them are
-- obsolete. 0001 itself stays as applied (its checksum is recorded in every existing schema);
-- this drops the columns there and in new schemas alike.
alter table outbox drop column claimed_by, drop column claimed_until;
