import { ProfileSubmitted, type EventEnvelope } from '@carshare/contracts';
import type { ProfileTransaction } from '../ports.ts';

/** The OCR consumer group: each submission becomes a durable OCR job, in the inbox's transaction. */
export const ocrConsumerGroup = 'profile.ocr';

export function queueOcrJob(event: EventEnvelope, tx: ProfileTransaction, now: number): Promise<void> {
  const submitted = ProfileSubmitted.parse(event);
  return tx.ocrJobs.enqueue({ submissionId: submitted.data.submissionId, userId: submitted.data.userId }, now);
}
