import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { lazyTypeBoxValidatorCompiler, serializerFor } from './lazy-schema-compilers.ts';

const observability = createObservability({ service: 'probe', logLevel: 'silent', prettyLogs: false, sampleRatio: 1, processMetrics: false });

const Item = Type.Object({ name: Type.String(), size: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
const ItemView = Type.Object({ name: Type.String(), size: Type.Integer() });
// fast-json-stringify cannot resolve this reference: compiling it throws.
const Unresolvable = { type: 'object', properties: { part: { $ref: 'nowhere#/definitions/part' } } };

describe('schemas compiled on first use', () => {
  let server: HttpServer;
  let base: string;

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'public' });
    server.post('/items', { schema: { body: Item, querystring: Type.Object({ copies: Type.Optional(Type.Integer({ minimum: 1 })) }), response: { 200: ItemView } } }, async (request) => ({
      ...request.body,
      copies: request.query.copies ?? 1,
      secret: 'not in the response schema',
    }));
    server.get('/broken', { schema: { response: { 200: Unresolvable as never } } }, async () => ({ part: 1 }));
    // Compiling at start would make listen() throw here, for the one broken route.
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });

  after(() => server.close());

  it('starts with a response schema that cannot compile, and fails only that route, on its first request', async () => {
    const broken = await fetch(`${base}/broken`);
    assert.equal(broken.status, 500);
    assert.equal(((await broken.json()) as { error: { code: string } }).error.code, 'INTERNAL');
    const live = await fetch(`${base}/health/live`);
    assert.equal(live.status, 200);
  });

  it('validates input and serialises output by the schemas, on the first request and after', async () => {
    for (let round = 0; round < 2; round++) {
      const created = await fetch(`${base}/items?copies=2`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'wiper', size: 3 }) });
      assert.equal(created.status, 200);
      // Only what ItemView lists leaves the server.
      assert.deepEqual(await created.json(), { name: 'wiper', size: 3 });
      const invalid = await fetch(`${base}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'wiper', size: 0 }) });
      assert.equal(invalid.status, 400);
      const badQuery = await fetch(`${base}/items?copies=1.5`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'wiper', size: 3 }) });
      assert.equal(badQuery.status, 400);
    }
  });

  it('compiles one serializer and one validator per schema object, shared by routes and servers', () => {
    assert.equal(serializerFor(ItemView), serializerFor(ItemView));
    assert.notEqual(serializerFor(ItemView), serializerFor(Item));
    assert.equal(serializerFor(ItemView)({ name: 'a', size: 1, extra: true }), '{"name":"a","size":1}');
    const body = lazyTypeBoxValidatorCompiler({ schema: Item, method: 'POST', url: '/a', httpPart: 'body' });
    assert.equal(lazyTypeBoxValidatorCompiler({ schema: Item, method: 'PUT', url: '/b', httpPart: 'body' }), body);
    // Query strings are converted from text, bodies are not: not the same function.
    const query = lazyTypeBoxValidatorCompiler({ schema: Item, method: 'GET', url: '/a', httpPart: 'querystring' });
    assert.notEqual(query, body);
    assert.deepEqual(query({ name: 'a', size: '2' }), { value: { name: 'a', size: 2 } });
    assert.ok('error' in (body({ name: 'a', size: '2' }) as object));
  });
});
