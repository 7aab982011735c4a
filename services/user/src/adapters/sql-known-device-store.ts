import type { Kysely } from 'kysely';
import { knownDevicesPerUser, type KnownDevice, type KnownDeviceStore } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';

export class SqlKnownDeviceStore implements KnownDeviceStore {
  readonly #db: Kysely<UserDatabase>;

  constructor(db: Kysely<UserDatabase>) {
    this.#db = db;
  }

  async insert(device: KnownDevice & { tokenHash: string; createdAt: number }): Promise<void> {
    const at = new Date(device.createdAt);
    await this.#db
      .insertInto('known_devices')
      .values({ token_hash: device.tokenHash, device_id: device.deviceId, user_id: device.userId, created_at: at, last_used_at: at })
      .execute();
    const keep = this.#db
      .selectFrom('known_devices')
      .select('token_hash')
      .where('user_id', '=', device.userId)
      .orderBy('last_used_at', 'desc')
      .orderBy('device_id', 'desc')
      .limit(knownDevicesPerUser);
    await this.#db.deleteFrom('known_devices').where('user_id', '=', device.userId).where('token_hash', 'not in', keep).execute();
  }

  async find(tokenHash: string): Promise<KnownDevice | undefined> {
    const row = await this.#db.selectFrom('known_devices').select(['device_id', 'user_id']).where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? { deviceId: row.device_id, userId: row.user_id } : undefined;
  }

  async touch(tokenHash: string, now: number): Promise<void> {
    await this.#db.updateTable('known_devices').set({ last_used_at: new Date(now) }).where('token_hash', '=', tokenHash).execute();
  }
}
