import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Observability } from '@carshare/observability';
import { createHttpServer, type HttpServer } from '@carshare/platform';
import { cspHeader, docsContentSecurityPolicy, registerSecurityHeaders } from './api/security-headers.ts';

export interface OpsListenerOptions {
  observability: Observability;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** The API document, as the public server generated it from its routes. */
  document: () => object;
  /**
   * Where the public API answers, once it listens: the document's `servers` point there when
   * no public URL is configured, since a relative one would resolve against this listener.
   */
  publicOrigin: () => string | undefined;
  /** True when `servers` came from configuration and must be left alone. */
  serversConfigured: boolean;
}

export interface OpsListener {
  readonly server: HttpServer;
  /** `http://host:port` of this listener. */
  readonly url: string;
  close(): Promise<void>;
}

/** `http://host:port` where a server listens, or undefined before it does. */
export function listeningUrl(server: HttpServer): string | undefined {
  const address = server.server.address();
  if (!address || typeof address === 'string') return undefined;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * The gateway's operations listener (ADR 0023): `/metrics` for Prometheus, the API docs
 * (`/docs`, `/docs/json`, `/docs/yaml`) and health, on their own host and port (loopback by
 * default) so the public port exposes none of them. Nothing here is throttled or authenticated:
 * who can reach this address is the network's decision, as for every service's RPC port.
 */
export async function startOpsListener(options: OpsListenerOptions): Promise<OpsListener> {
  const server = createHttpServer({ observability: options.observability, errorStyle: 'public', trustDeadlineHeader: false });
  await registerSecurityHeaders(server);
  // The public server's document, not one generated from this server's (operational) routes, and
  // only when /docs/json or /docs/yaml is first asked for: generating it from ~150 routes cost
  // ~60 ms of every start. (Static mode would take the document at registration.) The routes here
  // are untagged, so the document built around them is empty before transformObject replaces it.
  await server.register(swagger, { openapi: { openapi: '3.1.0' }, hideUntagged: true, transformObject: () => options.document() as never });
  await server.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: cspHeader(docsContentSecurityPolicy),
    transformSpecification: (document) => {
      const origin = options.publicOrigin();
      if (options.serversConfigured || !origin) return document;
      const servers = [{ url: origin, description: "This deployment's public API port (the listener that served this document is not it)", 'x-internal': false }];
      return { ...document, servers };
    },
  });
  await server.listen({ host: options.host, port: options.port });
  return { server, url: listeningUrl(server) as string, close: () => server.close() };
}
