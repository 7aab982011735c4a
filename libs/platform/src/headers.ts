/** Metadata headers of our RPC and HTTP layers, named once. */
export const headerNames = {
  requestId: 'x-request-id',
  /** Remaining budget in ms: relative, so clock skew between hosts does not matter. */
  deadline: 'x-deadline-ms',
  traceparent: 'traceparent',
  authorization: 'authorization',
} as const;
