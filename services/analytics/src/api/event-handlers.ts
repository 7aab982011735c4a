import { isEventEnvelope } from '@carshare/contracts';
import type { EventBus, ServiceMessaging, Subscription } from '@carshare/messaging';
import { projectionTopics, type ProjectionName } from '../domain/projection.ts';
import type { ProjectionWriter } from '../projection-writer.ts';

/** The consumer group of a projection: its own queue, lag and dead letters. */
export const consumerGroupOf = (projection: ProjectionName): string => `analytics.${projection}`;

export const consumerGroups: readonly string[] = Object.keys(projectionTopics).map((name) => consumerGroupOf(name as ProjectionName));

/**
 * One consumer group per projection; every handler hands its event to the shared writer and
 * returns when it is committed (a throw makes the bus retry it, then dead-letter it). The inbox
 * is the archive's primary key, checked in the writer's transaction (see ProjectionWriter).
 */
export async function subscribeProjections(
  bus: EventBus,
  messaging: ServiceMessaging,
  writer: ProjectionWriter,
  options: { concurrency: number },
): Promise<Subscription[]> {
  const subscriptions: Subscription[] = [];
  for (const [projection, topics] of Object.entries(projectionTopics)) {
    const group = consumerGroupOf(projection as ProjectionName);
    subscriptions.push(
      await bus.subscribe(
        group,
        topics,
        async (event) => {
          if (!isEventEnvelope(event)) throw new TypeError(`${group}: not an event envelope`);
          await writer.write(event, group);
        },
        { deadLetters: messaging.deadLetters, concurrency: options.concurrency },
      ),
    );
  }
  return subscriptions;
}
