import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { createConnection } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFaultProxy } from './fault-proxy.ts';
import type { FaultProxy } from './fault-proxy.ts';

const bigBody = 'x'.repeat(1_000);
let server: Server;
let served = 0;

function get(proxy: FaultProxy, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: proxy.host, port: proxy.port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes, so a cut can be measured to the byte. */
async function rawExchange(proxy: FaultProxy, payload: string): Promise<Buffer> {
  const socket = createConnection({ host: proxy.host, port: proxy.port });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'connect');
  socket.write(payload);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

/** A delay the test releases by hand: latency is observed, never slept. */
function manualDelay() {
  const waits: Array<{ ms: number; release: () => void }> = [];
  const started = new EventTarget();
  return {
    waits,
    delay: (ms: number) =>
      new Promise<void>((release) => {
        waits.push({ ms, release });
        started.dispatchEvent(new Event('wait'));
      }),
    nextWait: () => new Promise((resolve) => started.addEventListener('wait', resolve, { once: true })),
  };
}

describe('startFaultProxy', () => {
  before(async () => {
    server = createServer((req, res) => {
      served++;
      if (req.url === '/big') res.writeHead(200, { 'content-length': bigBody.length }).end(bigBody);
      else res.end('hello');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    served = 0;
  });

  const target = () => ({ port: (server.address() as AddressInfo).port });

  it('forwards requests and responses in pass mode', async () => {
    const proxy = await startFaultProxy({ target: target() });
    try {
      assert.deepEqual(await get(proxy), { status: 200, body: 'hello' });
      assert.deepEqual(await get(proxy, '/big'), { status: 200, body: bigBody });
      assert.equal(served, 2);
    } finally {
      await proxy.close();
    }
  });

  it('holds each request for the configured latency before forwarding it', async () => {
    const clock = manualDelay();
    const proxy = await startFaultProxy({ target: target(), mode: { kind: 'latency', ms: 250 }, delay: clock.delay });
    try {
      const waiting = clock.nextWait();
      let answered = false;
      const response = get(proxy).then((result) => {
        answered = true;
        return result;
      });
      await waiting;
      assert.deepEqual(
        clock.waits.map((wait) => wait.ms),
        [250],
      );
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(served, 0, 'nothing reached the server during the delay');
      assert.equal(answered, false);
      clock.waits[0]!.release();
      assert.deepEqual(await response, { status: 200, body: 'hello' });
    } finally {
      await proxy.close();
    }
  });

  it('resets new connections in reset mode, and open ones the moment it is switched on', async () => {
    const proxy = await startFaultProxy({ target: target() });
    try {
      const open = createConnection({ host: proxy.host, port: proxy.port });
      const openError = once(open, 'error');
      await once(open, 'connect');
      while (proxy.connections() === 0) await new Promise((resolve) => setImmediate(resolve));
      proxy.setMode({ kind: 'reset' });
      const [error] = (await openError) as [NodeJS.ErrnoException];
      assert.equal(error.code, 'ECONNRESET');

      await assert.rejects(get(proxy), { code: 'ECONNRESET' });
      assert.equal(served, 0);

      proxy.setMode({ kind: 'pass' });
      assert.deepEqual(await get(proxy), { status: 200, body: 'hello' }, 'back to normal when switched back');
    } finally {
      await proxy.close();
    }
  });

  it('accepts connections but never forwards or answers in blackhole mode', async () => {
    const proxy = await startFaultProxy({ target: target(), mode: { kind: 'blackhole' } });
    try {
      const socket = createConnection({ host: proxy.host, port: proxy.port });
      let received = 0;
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      await once(socket, 'connect');
      const dropped = once(proxy.events, 'dropped');
      const request = 'GET / HTTP/1.1\r\nHost: test\r\n\r\n';
      socket.write(request);
      assert.deepEqual(await dropped, [request.length]);
      assert.equal(served, 0);
      assert.equal(received, 0);
      assert.equal(socket.destroyed, false, 'the connection stays open, silent');
      socket.destroy();
    } finally {
      await proxy.close();
    }
  });

  it('forwards the request and cuts the response after exactly N bytes', async () => {
    const proxy = await startFaultProxy({ target: target(), mode: { kind: 'close-mid-response', afterBytes: 64 } });
    try {
      const cut = once(proxy.events, 'cut');
      const received = await rawExchange(proxy, 'GET /big HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n');
      assert.equal(received.length, 64);
      assert.match(received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
      assert.deepEqual(await cut, [64]);
      assert.equal(served, 1, 'the request did reach the server');
      await assert.rejects(get(proxy, '/big'), 'an HTTP client sees a truncated response');
    } finally {
      await proxy.close();
    }
  });

  it('closes open connections when closed', async () => {
    const proxy = await startFaultProxy({ target: target(), mode: { kind: 'blackhole' } });
    const socket = createConnection({ host: proxy.host, port: proxy.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    while (proxy.connections() === 0) await new Promise((resolve) => setImmediate(resolve));
    const closed = once(socket, 'close');
    await proxy.close();
    await closed;
    assert.equal(proxy.connections(), 0);
  });
});
