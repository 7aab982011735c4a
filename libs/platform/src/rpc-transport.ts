import type { Span } from '@carshare/observability';
import type { CallContext } from './call-context.ts';

/**
 * How a call reaches the callee: a function call in this process, HTTP/1.1 requests over undici,
 * or frames on one persistent upgraded connection per endpoint (ADR 0029).
 */
export const rpcTransportKinds = ['in-process', 'http', 'framed'] as const;
export type RpcTransportKind = (typeof rpcTransportKinds)[number];

export function isRpcTransportKind(value: unknown): value is RpcTransportKind {
  return typeof value === 'string' && (rpcTransportKinds as readonly string[]).includes(value);
}

/**
 * The transport port of the RPC client (DESIGN rule 3): everything else (contract, deadline
 * check, policy, client span, client metrics, error normalisation) is the client's and the same
 * for every adapter.
 */
export interface RpcTransport {
  readonly kind: RpcTransportKind;
  /**
   * Sends one attempt of `method` under the client span `span`, with `remainingMs` of the
   * caller's budget and the calling service's signed `identity` (ADR 0012), and resolves to the answer: a value of the caller's own that the callee no
   * longer holds. Rejects with the AppError the callee answered with, or with anything else when
   * no answer came; the client turns that into DEADLINE_EXCEEDED when `signal` aborted and into
   * UNAVAILABLE otherwise. Positional arguments: no object is made per call to carry them.
   * `attempts` is shared by the attempts of one call: a transport with several endpoints sends a
   * retry to another one than the attempt before (and notes where each went).
   */
  send(method: string, input: unknown, ctx: CallContext, span: Span, signal: AbortSignal, remainingMs: number, identity: string, attempts?: RpcAttempts): Promise<unknown>;
  close(): Promise<void>;
}

/** What the attempts of one call share: the endpoint the last one went to. */
export interface RpcAttempts {
  lastEndpoint: string | undefined;
}
