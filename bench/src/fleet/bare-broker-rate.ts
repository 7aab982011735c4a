import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';

/**
 * What the broker alone sustains on this machine: one publisher, one subscriber, QoS 0, payloads
 * the size of a telemetry report, through an in-process aedes on loopback, or through the broker
 * at `brokerUrl` (Mosquitto). The ceiling the telemetry ingest figure should be read against.
 */
export async function measureBareBrokerRate(messages: number, brokerUrl?: string): Promise<{ messages: number; seconds: number; perSecond: number }> {
  const inProcess = brokerUrl === undefined ? await startAedes() : undefined;
  const url = brokerUrl ?? (inProcess as { url: string }).url;
  // Its own topic and client ids: a shared broker may carry other runs.
  const run = randomBytes(4).toString('hex');
  const topic = `bench/${run}/telemetry`;
  const subscriber = await connectAsync(url, { clientId: `bench-sub-${run}`, reconnectPeriod: 0 });
  const publisher = await connectAsync(url, { clientId: `bench-pub-${run}`, reconnectPeriod: 0 });
  try {
    await subscriber.subscribeAsync(topic, { qos: 0 });
    const payload = JSON.stringify({ v: 1, ts: Date.now(), lat: 52.520001, lng: 13.405001, speedKph: 31.2, headingDeg: 87.5, odometerKm: 12345.678, energyPct: 64.2, locked: false });
    let received = 0;
    const done = new Promise<void>((resolve) => {
      subscriber.on('message', () => {
        received += 1;
        if (received === messages) resolve();
      });
    });
    const started = performance.now();
    // In slices, yielding between them, so the publisher's buffer does not hold the whole run.
    for (let sent = 0; sent < messages; sent += 1000) {
      for (let index = sent; index < Math.min(messages, sent + 1000); index++) publisher.publish(topic, payload, { qos: 0 });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`bare broker: ${received}/${messages} arrived`)), 60_000))]);
    const seconds = (performance.now() - started) / 1000;
    return { messages, seconds, perSecond: messages / seconds };
  } finally {
    await publisher.endAsync(true);
    await subscriber.endAsync(true);
    await inProcess?.close();
  }
}

async function startAedes(): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
