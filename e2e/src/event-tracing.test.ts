import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope } from '@carshare/contracts';
import { startOtlpReceiver, type OtlpReceiver } from '@carshare/testing';
import { signUpAndLogIn } from './support/sign-up.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';
import { userDescriptor } from '@carshare/user-service';

describe('trace context travels with events', () => {
  let receiver: OtlpReceiver;
  let t: TestPlatform;
  const consumed: { event: EventEnvelope; traceparent: string | undefined }[] = [];

  before(async () => {
    receiver = await startOtlpReceiver();
    t = await startTestPlatform({ tracing: { otlpEndpoint: receiver.url, sampleRatio: 1 } });
    await t.platform.module(userDescriptor).messaging.subscribe('e2e.trace-follower', ['user.registered'], async (event, _trx, context) => {
      consumed.push({ event, traceparent: context.traceparent });
    });
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('a consumer of user.registered runs in a span of the sign-up request’s trace', async () => {
    // Registration answers without the account (ADR 0017): logging in afterwards says whose it is.
    const userId = (await signUpAndLogIn(t.api, { email: 'follow@example.com', password: 'amber kettle 19', displayName: 'F' })).user.id;

    const found = await receiver.waitFor((spans) => {
      const request = spans.find((span) => span.service === 'gateway' && span.kind === 'server' && span.name === 'POST /v1/auth/register');
      // Other groups consume user.registered too (analytics): this test's own group is the one to follow.
      const consumer = spans.find(
        (span) =>
          span.kind === 'consumer' &&
          span.name === 'consume user.registered' &&
          span.traceId === request?.traceId &&
          span.attributes['messaging.consumer.group.name'] === 'e2e.trace-follower',
      );
      return request && consumer ? { request, consumer } : undefined;
    }, 10_000);
    assert.equal(found.consumer.attributes['messaging.consumer.group.name'], 'e2e.trace-follower');

    const delivery = consumed.find((entry) => entry.event.subject === userId);
    assert.ok(delivery, 'the consumer did not see the event');
    assert.match(delivery.event.traceparent ?? '', new RegExp(`^00-${found.request.traceId}-`), 'the event carries the request’s trace');
    // The handler gets the consumer span's own context, so whatever it calls joins the trace too.
    assert.equal(delivery.traceparent, `00-${found.consumer.traceId}-${found.consumer.spanId}-01`);
  });
});
