import type { LicenceFields } from '@carshare/contracts';
import { InvalidArgument } from '@carshare/platform';
import { decodeCursor, encodeCursor } from '@carshare/storage';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { LicenceProfile, OcrOutcome, Rejection } from '../domain/licence-profile.ts';
import type { ProfileStore, ReviewQueuePage, ReviewQueueQuery } from '../ports.ts';
import type { ProfileDatabase } from './profile-database.ts';

type ProfileRow = Selectable<ProfileDatabase['profiles']>;

function epochOrNull(value: Date | string | null): number | null {
  return value === null ? null : new Date(value).getTime();
}

function toProfile(row: ProfileRow): LicenceProfile {
  return {
    userId: row.user_id,
    status: row.status as LicenceProfile['status'],
    fields: (row.fields as LicenceFields | null) ?? null,
    photos: { licenceFront: row.photo_licence_front, licenceBack: row.photo_licence_back, selfie: row.photo_selfie },
    submissionId: row.submission_id,
    submittedAt: epochOrNull(row.submitted_at),
    verifiedAt: epochOrNull(row.verified_at),
    verifiedBy: row.verified_by as LicenceProfile['verifiedBy'],
    rejection: (row.rejection as Rejection | null) ?? null,
    ocr: row.ocr as OcrOutcome,
    updatedAt: new Date(row.updated_at).getTime(),
  };
}

function toRow(profile: LicenceProfile) {
  return {
    user_id: profile.userId,
    status: profile.status,
    fields: profile.fields === null ? null : JSON.stringify(profile.fields),
    photo_licence_front: profile.photos.licenceFront,
    photo_licence_back: profile.photos.licenceBack,
    photo_selfie: profile.photos.selfie,
    submission_id: profile.submissionId,
    submitted_at: profile.submittedAt === null ? null : new Date(profile.submittedAt),
    verified_at: profile.verifiedAt === null ? null : new Date(profile.verifiedAt),
    verified_by: profile.verifiedBy,
    rejection: profile.rejection === null ? null : JSON.stringify(profile.rejection),
    ocr: JSON.stringify(profile.ocr),
    expires_on: profile.fields?.expiresOn ?? null,
    updated_at: new Date(profile.updatedAt),
  };
}

const columns = [
  'user_id',
  'status',
  'fields',
  'photo_licence_front',
  'photo_licence_back',
  'photo_selfie',
  'submission_id',
  'submitted_at',
  'verified_at',
  'verified_by',
  'rejection',
  'ocr',
  'expires_on',
  'queue_rank',
  'updated_at',
] as const;

function queuePosition(cursor: string): [number, Date, string] {
  const values = decodeCursor(cursor);
  const [rank, submittedAt, userId] = values;
  if (values.length !== 3 || typeof rank !== 'number' || !(submittedAt instanceof Date) || typeof userId !== 'string') {
    throw InvalidArgument('INVALID_CURSOR', 'the cursor is not one of this queue; pass back a cursor returned by a previous page');
  }
  return [rank, submittedAt, userId];
}

export class SqlProfileStore implements ProfileStore {
  readonly #db: Kysely<ProfileDatabase>;

  /** `db` is the service's database or a transaction on it. */
  constructor(db: Kysely<ProfileDatabase>) {
    this.#db = db;
  }

  async find(userId: string): Promise<LicenceProfile | undefined> {
    const row = await this.#db.selectFrom('profiles').select(columns).where('user_id', '=', userId).executeTakeFirst();
    return row ? toProfile(row) : undefined;
  }

  async findForUpdate(userId: string): Promise<LicenceProfile | undefined> {
    const row = await this.#db.selectFrom('profiles').select(columns).where('user_id', '=', userId).forUpdate().executeTakeFirst();
    return row ? toProfile(row) : undefined;
  }

  async save(profile: LicenceProfile): Promise<void> {
    const row = toRow(profile);
    const { user_id: _key, ...changes } = row;
    await this.#db.insertInto('profiles').values(row).onConflict((conflict) => conflict.column('user_id').doUpdateSet(changes)).execute();
  }

  async delete(userId: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('profiles').where('user_id', '=', userId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async reviewQueue(query: ReviewQueueQuery): Promise<ReviewQueuePage> {
    let select = this.#db.selectFrom('profiles').select(columns).where('submitted_at', 'is not', null);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.cursor !== undefined) {
      const [rank, submittedAt, userId] = queuePosition(query.cursor);
      select = select.where((eb) => eb(eb.refTuple('queue_rank', 'submitted_at', 'user_id'), '>', eb.tuple(rank, submittedAt, userId)));
    }
    const rows = await select.orderBy('queue_rank').orderBy('submitted_at').orderBy('user_id').limit(query.limit + 1).execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor([last.queue_rank, new Date(last.submitted_at as Date), last.user_id]) : undefined;
    return { items: page.map(toProfile), nextCursor };
  }

  async verifiedExpiredBefore(today: string, limit: number): Promise<LicenceProfile[]> {
    const rows = await this.#db
      .selectFrom('profiles')
      .select(columns)
      .where('status', '=', 'verified')
      .where('expires_on', '<', sql<string>`${today}::date`)
      .orderBy('expires_on')
      .limit(limit)
      .execute();
    return rows.map(toProfile);
  }
}
