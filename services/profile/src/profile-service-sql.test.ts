import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EventEnvelope, LicenceFields } from '@carshare/contracts';
import { InProcessEventBus, MemoryDeadLetterStore } from '@carshare/messaging';
import { createObservability } from '@carshare/observability';
import { AppError, ServiceIdentitySigner, StaticDiscovery, createBackgroundContext, laptopServiceKeys, serviceIdentityHeader, type BackgroundContext, type Caller } from '@carshare/platform';
import { openTestDatabase, type TestDatabase } from '@carshare/storage';
import { FakeClock, captureLogs } from '@carshare/testing';
import { SimulatedOcrProvider } from './adapters/simulated-ocr-provider.ts';
import { loadProfileConfig } from './config.ts';
import { printedForm, licenceFieldNames } from './domain/auto-verification.ts';
import { createProfileModule, type ProfileModule } from './module.ts';
import { FakeBlobClient } from './testing/fake-blob-client.ts';
import { aLicence } from './testing/profile-factories.ts';

function rejectsWith(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason, error.message);
    return true;
  };
}

/** The card's text as the simulated OCR "reads" it: one labelled line per field, like the rendered card. */
function cardText(fields: LicenceFields): string {
  const labels: Record<string, string> = {
    surname: 'Surname',
    givenNames: 'Given names',
    birthDate: 'Date of birth',
    issuedOn: 'Issued',
    expiresOn: 'Expires',
    issuingCountry: 'Country',
    licenceNumber: 'Licence No',
    classes: 'Classes',
  };
  return ['DRIVING LICENCE', ...licenceFieldNames.map((field) => `${labels[field]}: ${printedForm(fields, field)}`)].join('\n');
}

let counter = 0;
function aRider(): Caller {
  counter++;
  return { userId: `01890a5d-ac96-774b-bcce-${String(counter).padStart(12, '0')}`, role: 'rider', plan: 'free', token: '' };
}
const operator: Caller = { userId: '01890a5d-ac96-774b-bcce-ffffffffffff', role: 'operator', plan: 'unlimited', token: '' };

// Everything of the profile service that needs SQL and the bus, in one file so PGlite starts once
// (PostgreSQL when DATABASE_URL is set).
describe('profile service on PGlite', () => {
  let testDatabase: TestDatabase;
  let bus: InProcessEventBus;
  let module: ProfileModule;
  const clock = new FakeClock('2026-12-04T09:00:00Z');
  const blobs = new FakeBlobClient();
  const ocr = new SimulatedOcrProvider({ latencyMs: 0, failurePercent: 0 });
  const logs = captureLogs();
  const published: EventEnvelope[] = [];
  const contexts: BackgroundContext[] = [];
  let observability: ReturnType<typeof createObservability>;

  function as(caller: Caller | undefined): BackgroundContext {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 30_000, caller, clock });
    contexts.push(ctx);
    return ctx;
  }

  async function uploadPhotos(rider: Caller, front: string): Promise<void> {
    for (const purpose of ['licence_front', 'licence_back', 'selfie'] as const) {
      const { blob } = await module.service.createPhotoUpload({ purpose, contentType: 'image/png', sizeBytes: 100 }, as(rider));
      blobs.upload(blob.id, Buffer.from(purpose === 'licence_front' ? front : `${purpose} bytes`));
    }
  }

  /** A rider with a complete profile whose front photo reads as `printed`, submitted. */
  async function submitted(fields: LicenceFields, printed: LicenceFields = fields): Promise<Caller> {
    const rider = aRider();
    await module.service.putMyProfile({ fields }, rider);
    await uploadPhotos(rider, cardText(printed));
    await module.service.submit(as(rider));
    return rider;
  }

  /** Relays the outbox (profile.submitted → the OCR consumer group → a job) and lets the worker read. */
  async function readSubmissions(expected: number) {
    const total = { autoVerified: 0, flagged: 0, failed: 0, dropped: 0 };
    const until = Date.now() + 5_000;
    while (total.autoVerified + total.flagged + total.failed + total.dropped < expected && Date.now() < until) {
      await module.messaging.relay.relayOnce();
      await new Promise((resolve) => setImmediate(resolve));
      const pass = await module.ocrWorker.drainOnce();
      for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += pass[key];
    }
    return total;
  }

  async function eventsOf(type: string, subject: string, count = 1): Promise<EventEnvelope[]> {
    const until = Date.now() + 5_000;
    for (;;) {
      await module.messaging.relay.relayOnce();
      const found = published.filter((event) => event.type === type && event.subject === subject);
      if (found.length >= count || Date.now() > until) return found;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  before(async () => {
    // PGlite in memory; a fresh schema on PostgreSQL when DATABASE_URL is set (dropped at the end).
    testDatabase = await openTestDatabase({ schemaPrefix: 'profile_test', databaseUrl: process.env['DATABASE_URL'], prepare: async () => undefined });
    bus = new InProcessEventBus();
    observability = createObservability({ service: 'profile', logLevel: 'info', prettyLogs: false, sampleRatio: 0, processMetrics: false, logDestination: logs.destination });
    const config = loadProfileConfig({
      'ocr.worker': false,
      'ocr.retryBaseMs': 1_000,
      'ocr.retryMaxMs': 60_000,
      // A breaker that lets a probe through a millisecond after opening: the catch-up is driven by the job's retry time.
      'ocr.breaker': { windowSize: 4, minimumCalls: 4, failureRatePercent: 50, cooldownMs: 1 },
    });
    module = createProfileModule({
      config,
      observability,
      database: testDatabase.database,
      concurrentRelays: testDatabase.kind === 'postgres',
      bus,
      discovery: new StaticDiscovery({}),
      clock,
      blobs,
      ocrProvider: ocr,
    });
    await bus.subscribe('test.profile-events', ['profile.*'], async (event) => {
      published.push(event);
    }, { deadLetters: new MemoryDeadLetterStore() });
    await module.start();
  });

  after(async () => {
    for (const ctx of contexts) ctx.dispose();
    await module.close();
    await bus.close();
    await testDatabase.close();
  });

  beforeEach(() => {
    ocr.settings = { latencyMs: 0, failurePercent: 0 };
  });

  it('gives a new rider an empty unsubmitted profile and keeps the fields they put', async () => {
    const rider = aRider();
    assert.equal((await module.service.getMyProfile(rider)).status, 'unsubmitted');
    await module.service.putMyProfile({ fields: aLicence({ surname: ' Lovelace ' }) }, rider);
    const profile = await module.service.getMyProfile(rider);
    assert.equal(profile.fields?.surname, 'Lovelace');
    assert.equal(profile.status, 'unsubmitted');
  });

  it('refuses to submit an incomplete profile, naming what is missing', async () => {
    const rider = aRider();
    await module.service.putMyProfile({ fields: aLicence() }, rider);
    await assert.rejects(module.service.submit(as(rider)), (error: unknown) => {
      assert.ok(error instanceof AppError && error.reason === 'PROFILE_INCOMPLETE');
      assert.deepEqual(error.details['missing'], ['licenceFront', 'licenceBack', 'selfie']);
      return true;
    });
  });

  it('refuses to submit a photo that was never uploaded', async () => {
    const rider = aRider();
    await module.service.putMyProfile({ fields: aLicence() }, rider);
    for (const purpose of ['licence_front', 'licence_back', 'selfie'] as const) {
      await module.service.createPhotoUpload({ purpose, contentType: 'image/png', sizeBytes: 100 }, as(rider));
    }
    await assert.rejects(module.service.submit(as(rider)), rejectsWith('PHOTO_NOT_UPLOADED'));
    assert.equal((await module.service.getMyProfile(rider)).status, 'unsubmitted');
  });

  it('auto-verifies a submission whose photo reads exactly as typed, and publishes profile.verified', async () => {
    const rider = await submitted(aLicence());
    const [submittedEvent] = await eventsOf('profile.submitted', rider.userId);
    assert.ok(submittedEvent);
    const pass = await readSubmissions(1);
    assert.equal(pass.autoVerified, 1);
    const profile = await module.service.getMyProfile(rider);
    assert.equal(profile.status, 'verified');
    assert.equal(profile.verifiedBy, 'ocr');
    const [verified] = await eventsOf('profile.verified', rider.userId);
    assert.deepEqual(verified?.data, { userId: rider.userId, submissionId: profile.submissionId, by: 'ocr', expiresOn: '2032-01-04' });
    assert.deepEqual(await module.service.isVerified({ userId: rider.userId }, undefined), { userId: rider.userId, verified: true, expiresOn: '2032-01-04' });
  });

  it('leaves a mismatching submission pending with the problems per field, for an operator to approve', async () => {
    const rider = await submitted(aLicence({ licenceNumber: 'DL7K42WX99' }), aLicence({ licenceNumber: 'DL7K42WX98' }));
    assert.equal((await readSubmissions(1)).flagged, 1);
    const review = await module.service.getForReview({ userId: rider.userId }, as(operator));
    assert.equal(review.profile.status, 'pending');
    assert.deepEqual(review.profile.ocr.problems, [{ field: 'licenceNumber', problem: 'differs', entered: 'DL7K42WX99', read: 'DL7K42WX98' }]);
    assert.ok(review.photoUrls.licenceFront?.url, 'the operator sees the licence photo');
    const approved = await module.service.approve({ userId: rider.userId, note: 'a smudge on the photo' }, operator);
    assert.equal(approved.status, 'verified');
    assert.equal(approved.verifiedBy, 'operator');
    const [event] = await eventsOf('profile.verified', rider.userId);
    assert.equal((event?.data as { by: string }).by, 'operator');
    const history = (await module.service.getForReview({ userId: rider.userId }, as(operator))).history;
    assert.deepEqual(history.map((entry) => [entry.action, entry.actorKind]), [['submitted', 'rider'], ['flagged_for_review', 'system'], ['approved', 'operator']]);
    assert.equal(history[2]?.actorId, operator.userId);
    assert.equal(history[2]?.detail['note'], 'a smudge on the photo');
  });

  it('lets a rejected rider see why, resubmit and be approved', async () => {
    const rider = await submitted(aLicence({ surname: 'LOVELACY' }), aLicence());
    await readSubmissions(1);
    const rejected = await module.service.reject(
      { userId: rider.userId, reason: 'fields_do_not_match', text: 'check the surname', fieldNotes: [{ field: 'surname', note: 'photo says LOVELACE' }] },
      operator,
    );
    assert.equal(rejected.status, 'rejected');
    const seen = await module.service.getMyProfile(rider);
    assert.deepEqual(seen.rejection && { ...seen.rejection, rejectedAt: 0 }, { reason: 'fields_do_not_match', text: 'check the surname', fieldNotes: [{ field: 'surname', note: 'photo says LOVELACE' }], rejectedAt: 0 });
    assert.equal((await eventsOf('profile.rejected', rider.userId)).length, 1);
    await module.service.putMyProfile({ fields: aLicence() }, rider);
    const resubmitted = await module.service.submit(as(rider));
    assert.equal(resubmitted.status, 'pending');
    assert.equal(resubmitted.rejection, null);
    assert.notEqual(resubmitted.submissionId, rejected.submissionId);
    await readSubmissions(1);
    // The corrected fields now match the photo: the machine verifies the resubmission by itself.
    assert.equal((await module.service.getMyProfile(rider)).status, 'verified');
  });

  it('refuses decisions a profile cannot take, with 409 and its status', async () => {
    const rider = aRider();
    await module.service.putMyProfile({ fields: aLicence() }, rider);
    await assert.rejects(module.service.approve({ userId: rider.userId, note: '' }, operator), (error: unknown) => {
      assert.ok(error instanceof AppError && error.code === 'FAILED_PRECONDITION' && error.reason === 'INVALID_PROFILE_TRANSITION');
      assert.equal(error.details['status'], 'unsubmitted');
      return true;
    });
    const pending = await submitted(aLicence(), aLicence({ licenceNumber: 'ZZ0000000' }));
    await assert.rejects(module.service.putMyProfile({ fields: aLicence() }, pending), rejectsWith('PROFILE_UNDER_REVIEW'));
    await assert.rejects(module.service.submit(as(pending)), rejectsWith('INVALID_PROFILE_TRANSITION'));
    await readSubmissions(1);
  });

  it("keeps a rider's profile from other riders (404) and review from riders (403); operators and services read it", async () => {
    const owner = await submitted(aLicence(), aLicence({ licenceNumber: 'QQ1111111' }));
    await readSubmissions(1);
    const stranger = aRider();
    await assert.rejects(module.service.isVerified({ userId: owner.userId }, stranger), rejectsWith('PROFILE_NOT_FOUND'));
    await assert.rejects(module.service.getForReview({ userId: owner.userId }, as(stranger)), rejectsWith('OPERATOR_ONLY'));
    await assert.rejects(module.service.listReviewQueue({ limit: 10 }, stranger), rejectsWith('OPERATOR_ONLY'));
    await assert.rejects(module.service.approve({ userId: owner.userId, note: '' }, stranger), rejectsWith('OPERATOR_ONLY'));
    assert.equal((await module.service.isVerified({ userId: owner.userId }, owner)).verified, false);
    assert.equal((await module.service.isVerified({ userId: owner.userId }, operator)).verified, false);
    assert.equal((await module.service.isVerified({ userId: owner.userId }, undefined)).verified, false);
  });

  it('lists the review queue pending first, oldest submission first, a page at a time', async () => {
    const queue = async () => {
      const seen: Array<{ userId: string; status: string; submittedAt: number | null }> = [];
      let cursor: string | undefined;
      do {
        const page = await module.service.listReviewQueue({ limit: 2, cursor }, operator);
        seen.push(...page.items.map((profile) => ({ userId: profile.userId, status: profile.status, submittedAt: profile.submittedAt })));
        cursor = page.nextCursor;
      } while (cursor);
      return seen;
    };
    const firstPending = await submitted(aLicence(), aLicence({ licenceNumber: 'AA1111111' }));
    clock.advance(60_000);
    const secondPending = await submitted(aLicence(), aLicence({ licenceNumber: 'AA2222222' }));
    await readSubmissions(2);
    const all = await queue();
    const firstDecided = all.findIndex((entry) => entry.status !== 'pending');
    assert.ok(all.slice(0, firstDecided).every((entry) => entry.status === 'pending'), 'pending first');
    assert.ok(all.slice(firstDecided).every((entry) => entry.status !== 'pending'), 'then the decided ones');
    const pendingTimes = all.slice(0, firstDecided).map((entry) => entry.submittedAt ?? 0);
    assert.deepEqual(pendingTimes, [...pendingTimes].sort((a, b) => a - b), 'oldest first');
    const pendingIds = all.filter((entry) => entry.status === 'pending').map((entry) => entry.userId);
    assert.ok(pendingIds.indexOf(firstPending.userId) < pendingIds.indexOf(secondPending.userId));
    assert.equal(new Set(all.map((entry) => entry.userId)).size, all.length, 'no profile twice across pages');
    const onlyPending = await module.service.listReviewQueue({ limit: 100, status: 'pending' }, operator);
    assert.deepEqual(onlyPending.items.map((profile) => profile.userId), pendingIds);
    await assert.rejects(module.service.listReviewQueue({ limit: 2, cursor: 'bm90LWEtY3Vyc29y' }, operator), rejectsWith('INVALID_CURSOR'));
    for (const rider of [firstPending, secondPending]) await module.service.reject({ userId: rider.userId, reason: 'other', text: '', fieldNotes: [] }, operator);
  });

  it('keeps submissions succeeding while the OCR is down: the breaker opens, they wait in the queue, and the worker catches up', async () => {
    ocr.settings = { latencyMs: 0, failurePercent: 100 };
    const riders: Caller[] = [];
    for (let i = 0; i < 5; i++) riders.push(await submitted(aLicence()));
    for (const rider of riders) assert.equal((await module.service.getMyProfile(rider)).status, 'pending');
    const down = await readSubmissions(5);
    assert.equal(down.failed, 5);
    assert.equal(module.ocrWorker.breakerState(), 'open');
    const queued = await module.service.listReviewQueue({ limit: 100, status: 'pending' }, operator);
    for (const rider of riders) assert.ok(queued.items.some((profile) => profile.userId === rider.userId), 'waits in the review queue');
    const waiting = await module.service.getForReview({ userId: riders[0]!.userId }, as(operator));
    assert.equal(waiting.profile.ocr.state, 'waiting');
    assert.equal(waiting.profile.ocr.attempts, 1);

    ocr.settings = { latencyMs: 0, failurePercent: 0 };
    assert.deepEqual(await module.ocrWorker.drainOnce(), { autoVerified: 0, flagged: 0, failed: 0, dropped: 0 }, 'nothing is due before its retry time');
    clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the breaker's cooldown is on the wall clock (1 ms)
    const recovered = await module.ocrWorker.drainOnce();
    assert.equal(recovered.autoVerified, 5);
    assert.equal(module.ocrWorker.breakerState(), 'closed');
    for (const rider of riders) assert.equal((await module.service.getMyProfile(rider)).status, 'verified');
  });

  it('ends a verification when the licence expires, publishing profile.expired', async () => {
    const rider = await submitted(aLicence({ expiresOn: '2027-03-01' }));
    await readSubmissions(1);
    assert.equal((await module.service.getMyProfile(rider)).status, 'verified');
    clock.set(Date.parse('2027-03-01T23:00:00Z'));
    assert.equal((await module.service.isVerified({ userId: rider.userId }, undefined)).verified, true, 'valid through its last day');
    await module.service.expireVerifications();
    assert.equal((await module.service.getMyProfile(rider)).status, 'verified');
    clock.set(Date.parse('2027-03-02T00:00:01Z'));
    assert.equal((await module.service.isVerified({ userId: rider.userId }, undefined)).verified, false, 'not a day longer, sweeper or not');
    assert.ok((await module.service.expireVerifications()) >= 1);
    assert.equal((await module.service.getMyProfile(rider)).status, 'unsubmitted');
    const [expired] = await eventsOf('profile.expired', rider.userId);
    assert.deepEqual(expired?.data, { userId: rider.userId, expiredOn: '2027-03-01' });
    clock.set(Date.parse('2026-12-04T09:00:00Z'));
  });

  it('deletes the profile and its photos in the blob service', async () => {
    const rider = await submitted(aLicence());
    await readSubmissions(1);
    const photos = Object.values((await module.service.getMyProfile(rider)).photos);
    assert.deepEqual(await module.service.deleteMyProfile(as(rider)), { deletedPhotos: 3 });
    for (const blobId of photos) assert.ok(blobs.deleted.includes(blobId as string) && !blobs.blobs.has(blobId as string));
    assert.equal((await module.service.getMyProfile(rider)).status, 'unsubmitted');
    assert.equal((await module.service.getMyProfile(rider)).fields, null);
    assert.equal((await module.service.isVerified({ userId: rider.userId }, undefined)).verified, false);
    assert.deepEqual(await module.service.deleteMyProfile(as(rider)), { deletedPhotos: 0 });
  });

  it('replaces a photo: the profile points at the new blob and the old one is deleted', async () => {
    const rider = aRider();
    const first = await module.service.createPhotoUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10 }, as(rider));
    const second = await module.service.createPhotoUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10 }, as(rider));
    assert.equal((await module.service.getMyProfile(rider)).photos.selfie, second.blob.id);
    assert.ok(blobs.deleted.includes(first.blob.id));
  });

  it('refuses status and review fields in PutMyProfile (mass assignment: 400) and callers other than the gateway', async () => {
    const rider = aRider();
    const asGateway = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('profile', rider);
    const put = (body: unknown, identity: string) =>
      module.server.inject({ method: 'POST', url: '/rpc/profile/PutMyProfile', headers: { [serviceIdentityHeader]: identity, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    for (const extra of [{ status: 'verified' }, { verifiedBy: 'operator' }, { rejection: null }]) {
      const response = await put({ fields: aLicence(), ...extra }, asGateway);
      assert.equal(response.statusCode, 400, response.body);
    }
    const sneaky = await put({ fields: { ...aLicence(), status: 'verified' } }, asGateway);
    assert.equal(sneaky.statusCode, 400);
    assert.equal((await module.service.getMyProfile(rider)).fields, null, 'nothing was stored');
    const ok = await put({ fields: aLicence() }, asGateway);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((JSON.parse(ok.body) as { status: string }).status, 'unsubmitted');
    const asBlob = new ServiceIdentitySigner('blob', laptopServiceKeys()).identityFor('profile', rider);
    assert.equal((await put({ fields: aLicence() }, asBlob)).statusCode, 403);
  });

  it('never writes licence numbers or birth dates to the logs', async () => {
    const secret = aLicence({ licenceNumber: 'PRIV4CY123', birthDate: '1977-07-17' });
    ocr.settings = { latencyMs: 0, failurePercent: 100 };
    const rider = await submitted(secret, aLicence({ licenceNumber: 'PRIV4CY124', birthDate: '1977-07-18' }));
    await readSubmissions(1);
    ocr.settings = { latencyMs: 0, failurePercent: 0 };
    clock.advance(120_000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await readSubmissions(1);
    await module.service.reject({ userId: rider.userId, reason: 'fields_do_not_match', text: '', fieldNotes: [] }, operator);
    const text = logs.text();
    assert.ok(logs.lines().length > 0, 'something was logged');
    for (const value of ['PRIV4CY123', 'PRIV4CY124', '1977-07-17', '1977-07-18']) assert.ok(!text.includes(value), `${value} appears in the logs`);
  });
});
