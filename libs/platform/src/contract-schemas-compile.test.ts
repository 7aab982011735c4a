import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as contracts from '@carshare/contracts';
import type { HttpRouteContract, RpcServiceContract } from '@carshare/contracts';
import type { TSchema } from 'typebox';
import fastJsonStringify from 'fast-json-stringify';
import { typeBoxValidatorCompiler } from './schema-validator.ts';

// Schemas compile on their first request (lazy-schema-compilers.ts), so a schema that cannot
// compile no longer stops the start: it would fail that route in production. This compiles every
// schema of every contract here instead, as the servers would on first use.

const isHttpRoute = (value: unknown): value is HttpRouteContract =>
  typeof value === 'object' && value !== null && 'method' in value && 'url' in value && 'response' in value;
const isRpcService = (value: unknown): value is RpcServiceContract =>
  typeof value === 'object' && value !== null && 'service' in value && 'methods' in value;

// The compilers lazy-schema-compilers.ts calls on first use, with the same options.
function compileValidator(schema: TSchema, httpPart: 'body' | 'querystring' | 'params', where: string): void {
  assert.doesNotThrow(() => typeBoxValidatorCompiler({ schema, method: 'POST', url: where, httpPart }), `${where} ${httpPart}`);
}

function compileSerializer(schema: TSchema, where: string): void {
  assert.doesNotThrow(() => fastJsonStringify(schema, { schema: {} }), `${where} response`);
}

describe('contract schemas', () => {
  const exported = Object.entries(contracts as Record<string, unknown>);
  // Route contracts come in groups (`meRoutes = { me: defineHttpRoute(…) }`), some not in publicApi.
  const routes = new Map<HttpRouteContract, string>();
  for (const [groupName, group] of exported) {
    if (typeof group !== 'object' || group === null || isRpcService(group)) continue;
    for (const [name, route] of Object.entries(group)) if (isHttpRoute(route)) routes.set(route, `${groupName}.${name}`);
  }
  const services = exported.filter(([, value]) => isRpcService(value)) as Array<[string, RpcServiceContract]>;

  it('finds the contracts it checks', () => {
    assert.ok(routes.size > 40, `HTTP routes found: ${routes.size}`);
    assert.ok(services.length >= 7, `RPC services found: ${services.length}`);
  });

  it('compiles every HTTP route schema as the gateway would on first use', () => {
    for (const [route, name] of routes) {
      const where = `${name} (${route.method} ${route.url})`;
      if (route.body) compileValidator(route.body, 'body', where);
      if (route.querystring) compileValidator(route.querystring, 'querystring', where);
      if (route.params) compileValidator(route.params, 'params', where);
      compileSerializer(route.response, where);
    }
  });

  it('compiles every RPC method schema as its endpoint would on first use', () => {
    for (const [, service] of services) {
      for (const [method, contract] of Object.entries(service.methods)) {
        const where = `${service.service}.${method}`;
        compileValidator(contract.input, 'body', where);
        compileSerializer(contract.output, where);
      }
    }
  });
});
