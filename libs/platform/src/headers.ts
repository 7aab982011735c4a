/** Metadata headers of our RPC and HTTP layers, named once. */
export const headerNames = {
  requestId: 'x-request-id',
  /** Remaining budget in ms: relative, so clock skew between hosts does not matter. */
  deadline: 'x-deadline-ms',
  traceparent: 'traceparent',
  authorization: 'authorization',
} as const;

/** RFC 6750 §2.1: the scheme, one space, then a b64token; the scheme is case-insensitive (RFC 9110 §11.1). */
const bearerCredentials = /^bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined when the header is absent
 * or holds anything else (another scheme, no token, a token with characters a b64token cannot
 * have). One parser for the gateway and the RPC server, so both accept exactly the same headers.
 * Only one space is accepted after the scheme: every client we know sends one, and a stricter
 * parser cannot be talked into reading a different token than a proxy in front of it did.
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return bearerCredentials.exec(header)?.[1];
}
