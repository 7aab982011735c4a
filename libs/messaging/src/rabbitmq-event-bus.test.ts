import { describe, it } from 'node:test';
import { describeEventBusContract } from './event-bus.contract.ts';
import { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
import { deleteTestTopology, uniquePrefix } from './rabbitmq-test-support.ts';

const url = process.env.AMQP_URL;

if (!url) {
  describe('RabbitMqEventBus', () => {
    it('needs a broker: set AMQP_URL=amqp://guest:guest@127.0.0.1:5672 to run this suite', { skip: 'AMQP_URL is not set' }, () => {});
  });
} else {
  describeEventBusContract('RabbitMQ', async () => {
    const prefix = uniquePrefix('contract');
    const options = { url, prefix, rebalanceIntervalMs: 100, partitions: 4 };
    const first = await RabbitMqEventBus.connect({ ...options, name: 'contract-1' });
    const second = await RabbitMqEventBus.connect({ ...options, name: 'contract-2' });
    const groups: string[] = [];
    return {
      buses: [first, second],
      timeoutMs: 20_000,
      dropGroup: async (group) => void groups.push(group),
      close: async () => {
        await second.close();
        try {
          await deleteTestTopology(url, first, groups, ['contract', 'other']);
        } finally {
          await first.close();
        }
      },
    };
  });
}
