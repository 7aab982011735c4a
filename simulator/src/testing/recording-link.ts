import type { DeviceLink } from '../device-link.ts';

/** A device link that keeps what was published, and can be taken down, for tests of a device's behaviour alone. */
export class RecordingLink implements DeviceLink {
  readonly published: { topic: string; payload: string; qos: 0 | 1 }[] = [];
  connected = true;
  disconnects = 0;
  reconnects = 0;

  publish(topic: string, payload: string, qos: 0 | 1): void {
    if (!this.connected) throw new Error('published while disconnected');
    this.published.push({ topic, payload, qos });
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    this.disconnects += 1;
  }

  async reconnect(): Promise<void> {
    this.connected = true;
    this.reconnects += 1;
  }

  async close(): Promise<void> {
    this.connected = false;
  }

  on(channel: 'telemetry' | 'acks'): unknown[] {
    return this.published.filter((message) => message.topic.endsWith(`/${channel}`)).map((message) => JSON.parse(message.payload) as unknown);
  }
}
