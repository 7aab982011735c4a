import { hardenRequestSchema, type FinishOptions, type RequestPart } from '@carshare/contracts';
import type { RouteOptions } from 'fastify';
import type { TSchema } from 'typebox';
import type { GatewayConfig } from '../config.ts';

const requestParts: readonly RequestPart[] = ['body', 'querystring', 'params', 'headers'];

/**
 * onRoute hook: the request bounds of defineHttpRoute for routes mounted by hand (their
 * schemas may not come from a contract), so no route of the public port takes unbounded input.
 * Contract schemas are already hardened; doing it again changes nothing.
 */
export function hardenRouteSchema(route: RouteOptions): void {
  const schema = route.schema as Partial<Record<RequestPart, TSchema>> | undefined;
  if (!schema) return;
  for (const part of requestParts) {
    const partSchema = schema[part];
    if (partSchema) schema[part] = hardenRequestSchema(partSchema, part);
  }
}

/** The document's one server: the configured public address, else the origin that serves the API. */
export function openApiServer(config: Pick<GatewayConfig, 'publicUrl'>): FinishOptions {
  return config.publicUrl
    ? { serverUrl: config.publicUrl, serverDescription: 'This deployment (production, staging or local) as its clients reach it', serverInternal: false }
    : {
        serverUrl: '/',
        serverDescription: 'This deployment (production, staging or local): the origin of the public API port; set publicUrl when reading the document elsewhere',
        serverInternal: false,
      };
}
