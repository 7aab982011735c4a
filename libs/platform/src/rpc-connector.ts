import type { RpcMethods, RpcServiceContract } from '@carshare/contracts';
import type { Discovery } from './discovery.ts';
import type { HttpServer } from './http-server.ts';
import { createRpcClient, type RpcClient, type RpcClientBaseOptions } from './rpc-client.ts';
import type { RpcHandlers, RpcServerOptions, RpcServiceEndpoint } from './rpc-endpoint.ts';
import { InProcessRpcTransport } from './rpc-in-process-transport.ts';
import { registerRpcService } from './rpc-server.ts';
import { laptopServiceKeys, ServiceIdentitySigner, type ServiceKeyRing } from './rpc-service-identity.ts';
import type { RpcTransportKind } from './rpc-transport.ts';

/**
 * The services served in one process, by name: what in-process clients call. The composition
 * makes one per process (`carshare up`) and gives every module a connector over it.
 */
export class InProcessRpcHub {
  readonly #services = new Map<string, InProcessRpcTransport>();

  serve(endpoint: RpcServiceEndpoint, options: { bodyLimitBytes: number }): void {
    if (this.#services.has(endpoint.service)) throw new Error(`service ${endpoint.service} is already served in this process`);
    this.#services.set(endpoint.service, new InProcessRpcTransport(endpoint, options));
  }

  transportTo(service: string): InProcessRpcTransport | undefined {
    return this.#services.get(service);
  }

  services(): string[] {
    return [...this.#services.keys()];
  }
}

/** What a module needs to serve its contract and to call other services, whatever the transport. */
export interface RpcConnector {
  /** How this connector's clients reach a service served in the same process. */
  readonly transport: RpcTransportKind;
  /**
   * Mounts the contract on the module's HTTP server (always: the wire stays open to other
   * processes and tools) and, when modules share a process, offers it to their clients too.
   */
  serve<Methods extends RpcMethods>(
    server: HttpServer,
    contract: RpcServiceContract<Methods>,
    handlers: RpcHandlers<Methods>,
    options: RpcServerOptions,
  ): RpcServiceEndpoint<Methods>;
  /** A client of another service: in process when it is served here and the composition chose so, else over the connector's wire. */
  client<Methods extends RpcMethods>(contract: RpcServiceContract<Methods>, options: RpcClientBaseOptions & { connectionsPerEndpoint?: number }): RpcClient<Methods>;
}

export interface RpcConnectorOptions {
  /** Where the callees answer over HTTP; a connector that only serves needs none. */
  discovery?: Discovery;
  /** Present when modules share a process and call each other without a socket. */
  inProcess?: InProcessRpcHub;
  /**
   * How calls to other processes travel (ADR 0029): HTTP/1.1 requests, or frames on one upgraded
   * connection per endpoint (the default). The callees serve both on the same port.
   */
  wire?: 'http' | 'framed';
  /**
   * The service keys (ADR 0012): its clients sign with the calling module's private key, its
   * served contracts check callers against the public keys. The laptop keys when omitted.
   */
  keys?: ServiceKeyRing;
}

/** One connector per module; the composition decides the transport, the module never does. */
export function createRpcConnector(options: RpcConnectorOptions = {}): RpcConnector {
  const { discovery, inProcess } = options;
  const wire = options.wire ?? 'framed';
  const keys = options.keys ?? laptopServiceKeys();
  return {
    transport: inProcess ? 'in-process' : wire,
    serve(server, contract, handlers, serverOptions) {
      const endpoint = registerRpcService(server, contract, handlers, { ...serverOptions, keys });
      inProcess?.serve(endpoint, { bodyLimitBytes: server.initialConfig.bodyLimit ?? 1024 * 1024 });
      return endpoint;
    },
    client(contract, baseOptions) {
      const clientOptions = { ...baseOptions, identity: baseOptions.identity ?? new ServiceIdentitySigner(baseOptions.observability.service, keys) };
      const local = inProcess?.transportTo(contract.service);
      if (local) return createRpcClient(contract, { ...clientOptions, transport: local });
      if (!discovery) throw new Error(`no discovery to find ${contract.service} with: give the RPC connector one`);
      return createRpcClient(contract, { ...clientOptions, discovery, wire });
    },
  };
}
