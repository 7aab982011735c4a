import { AlreadyExists, type Role } from '@carshare/platform';
import { isUniqueViolation, paginate } from '@carshare/storage';
import type { Kysely, Selectable } from 'kysely';
import type { Plan, User, UserChanges, UserRecord, UserStatus } from '../domain/user.ts';
import type { UserListQuery, UserStore } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';

type UserRow = Selectable<UserDatabase['users']>;

const publicColumns = ['id', 'email', 'display_name', 'role', 'plan', 'status', 'suspended_reason', 'email_verified', 'created_at'] as const;

function toUser(row: Omit<UserRow, 'password_hash' | 'updated_at'>): User {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role as Role,
    plan: row.plan as Plan,
    status: row.status as UserStatus,
    suspendedReason: row.suspended_reason ?? undefined,
    emailVerified: row.email_verified,
    createdAt: new Date(row.created_at).getTime(),
  };
}

/** `%` and `_` in a search are literal characters, not wildcards. */
function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

export class SqlUserStore implements UserStore {
  readonly #db: Kysely<UserDatabase>;

  /** `db` is the service's database or a transaction on it. */
  constructor(db: Kysely<UserDatabase>) {
    this.#db = db;
  }

  async insert(user: UserRecord): Promise<void> {
    try {
      await this.#db
        .insertInto('users')
        .values({
          id: user.id,
          email: user.email,
          display_name: user.displayName,
          password_hash: user.passwordHash,
          role: user.role,
          plan: user.plan,
          status: user.status,
          suspended_reason: user.suspendedReason ?? null,
          email_verified: user.emailVerified,
          created_at: new Date(user.createdAt),
          updated_at: new Date(user.createdAt),
        })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw AlreadyExists('EMAIL_TAKEN', 'an account with this email exists', { email: user.email });
      throw error;
    }
  }

  async findById(id: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('users').select(publicColumns).where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async findByEmailWithPassword(email: string): Promise<UserRecord | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
  }

  async list(query: UserListQuery): Promise<User[]> {
    let select = this.#db.selectFrom('users').select(publicColumns);
    if (query.role !== undefined) select = select.where('role', '=', query.role);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.search !== undefined) {
      const pattern = likePattern(query.search);
      select = select.where((eb) => eb.or([eb('email', 'ilike', pattern), eb('display_name', 'ilike', pattern)]));
    }
    // The service asks for one row more than it shows and makes its own cursor, so the page's
    // items (up to query.limit) are all it needs from here.
    const page = await paginate(select, { key: 'id', direction: 'desc', limit: query.limit, after: query.afterId });
    return page.items.map(toUser);
  }

  async update(
    id: string,
    changes: UserChanges,
    now: number,
  ): Promise<User | undefined> {
    const row = await this.#db
      .updateTable('users')
      .set({
        ...(changes.role !== undefined && { role: changes.role }),
        ...(changes.plan !== undefined && { plan: changes.plan }),
        ...(changes.status !== undefined && { status: changes.status, suspended_reason: changes.suspendedReason ?? null }),
        ...(changes.emailVerified !== undefined && { email_verified: changes.emailVerified }),
        updated_at: new Date(now),
      })
      .where('id', '=', id)
      .returning(publicColumns)
      .executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async updatePassword(id: string, passwordHash: string, now: number): Promise<boolean> {
    const result = await this.#db.updateTable('users').set({ password_hash: passwordHash, updated_at: new Date(now) }).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
