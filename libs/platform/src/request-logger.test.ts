import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createObservability, type Logger } from '@carshare/observability';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { LazyRequestLogger } from './request-logger.ts';

describe('request logger', () => {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const observability = createObservability({ service: 'probe', logLevel: 'info', prettyLogs: false, sampleRatio: 0, processMetrics: false, logDestination: destination });
  let server: HttpServer;
  let base: string;

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'public' });
    server.get('/quiet', async () => ({ ok: true }));
    server.get('/chatty', async (request) => {
      request.log.debug('dropped: below the level');
      request.log.info({ password: 'hunter2' }, 'from request.log');
      request.ctx.log.warn('from ctx.log');
      return { id: request.id, traceId: request.ctx.span.spanContext().traceId };
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(() => server.close());

  it('writes request lines with the request id (and the trace id through ctx.log), redacted as before', async () => {
    const answer = (await (await fetch(`${base}/chatty`)).json()) as { id: string; traceId: string };
    const mine = lines.filter((line) => line['requestId'] === answer.id);
    assert.deepEqual(
      mine.map((line) => line['msg']),
      ['from request.log', 'from ctx.log'],
    );
    assert.equal(mine[0]?.['password'], '[redacted]');
    assert.equal(mine[0]?.['service'], 'probe');
    assert.equal(mine[1]?.['traceId'], answer.traceId);
    assert.equal(mine[1]?.['level'], 'warn');
  });

  it('makes no pino child for a request that writes nothing, nor for a level that is dropped', () => {
    let children = 0;
    const parent = {
      level: 'info',
      isLevelEnabled: (level: string) => level !== 'debug' && level !== 'trace',
      child: () => {
        children++;
        return { info: () => {}, warn: () => {} };
      },
    } as unknown as Logger;
    const log = new LazyRequestLogger(parent, { requestId: 'r1' });
    log.debug('dropped');
    assert.equal(log.isLevelEnabled('info'), true);
    assert.equal(children, 0);
    log.info('kept');
    log.warn('kept too');
    assert.equal(children, 1);
  });
});
