import type { Kysely } from 'kysely';
import type { OcrJob, OcrJobQueue } from '../ports.ts';
import type { ProfileDatabase } from './profile-database.ts';

export class SqlOcrJobQueue implements OcrJobQueue {
  readonly #db: Kysely<ProfileDatabase>;

  constructor(db: Kysely<ProfileDatabase>) {
    this.#db = db;
  }

  /** A redelivered profile.submitted finds its job already there: one job per submission. */
  async enqueue(job: { submissionId: string; userId: string }, now: number): Promise<void> {
    await this.#db
      .insertInto('ocr_jobs')
      .values({ submission_id: job.submissionId, user_id: job.userId, attempts: 0, next_attempt_at: new Date(now), created_at: new Date(now) })
      .onConflict((conflict) => conflict.column('submission_id').doNothing())
      .execute();
  }

  async due(now: number, limit: number): Promise<OcrJob[]> {
    const rows = await this.#db
      .selectFrom('ocr_jobs')
      .selectAll()
      .where('next_attempt_at', '<=', new Date(now))
      .orderBy('next_attempt_at')
      .orderBy('submission_id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ submissionId: row.submission_id, userId: row.user_id, attempts: row.attempts, nextAttemptAt: new Date(row.next_attempt_at).getTime() }));
  }

  async retryAt(submissionId: string, attempts: number, at: number): Promise<void> {
    await this.#db.updateTable('ocr_jobs').set({ attempts, next_attempt_at: new Date(at) }).where('submission_id', '=', submissionId).execute();
  }

  async remove(submissionId: string): Promise<void> {
    await this.#db.deleteFrom('ocr_jobs').where('submission_id', '=', submissionId).execute();
  }
}
