import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort, freePorts } from './free-port.ts';

describe('freePort', () => {
  it('returns a loopback port that can be listened on right away', async () => {
    const port = await freePort();
    assert.ok(Number.isInteger(port) && port > 0 && port < 65536, `got ${port}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('does not hand out a port that is being listened on', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    const taken = (server.address() as { port: number }).port;
    try {
      for (let attempt = 0; attempt < 20; attempt++) assert.notEqual(await freePort(), taken);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  const rangeFile = '/proc/sys/net/ipv4/ip_local_port_range';
  it('hands out ports the kernel never gives to a port-0 listener or an outgoing connection', { skip: !existsSync(rangeFile) && 'no ephemeral range to read' }, async () => {
    const firstEphemeral = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    for (let attempt = 0; attempt < 20; attempt++) {
      for (const port of await freePorts(3)) assert.ok(port < firstEphemeral, `${port} is in the ephemeral range from ${firstEphemeral}`);
    }
  });

  it('hands out ports asked for together all different', async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const ports = await freePorts(6);
      assert.equal(new Set(ports).size, 6, `got ${ports.join(', ')}`);
    }
  });
});
