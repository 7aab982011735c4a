import assert from 'node:assert/strict';

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown>; traceId: string };
}

/**
 * The public error contract: `{ error: { code, message, details, traceId } }` and nothing else at
 * the top level; a trace id of 32 hex digits that is not all zeros, so it can be looked up.
 */
export function assertErrorShape(body: unknown, context = ''): asserts body is ErrorBody {
  const where = context ? ` (${context})` : '';
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `error body is not an object${where}: ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body), ['error'], `error body has other top-level keys${where}: ${JSON.stringify(body)}`);
  const error = (body as { error: unknown }).error as Record<string, unknown>;
  assert.ok(typeof error === 'object' && error !== null, `error is not an object${where}`);
  assert.equal(typeof error['code'], 'string', `error.code${where}: ${JSON.stringify(body)}`);
  assert.match(error['code'] as string, /^[A-Z][A-Z0-9_]*$/, `error.code is not a SCREAMING_SNAKE reason${where}`);
  assert.equal(typeof error['message'], 'string', `error.message${where}: ${JSON.stringify(body)}`);
  assert.ok(
    typeof error['details'] === 'object' && error['details'] !== null && !Array.isArray(error['details']),
    `error.details is not an object${where}: ${JSON.stringify(body)}`,
  );
  assert.equal(typeof error['traceId'], 'string', `error.traceId${where}: ${JSON.stringify(body)}`);
  assert.match(error['traceId'] as string, /^(?!0{32})[0-9a-f]{32}$/, `error.traceId is not a trace id${where}: ${JSON.stringify(body)}`);
}

/** Status, reason and shape in one line, with the whole body in the message when it fails. */
export function assertError(response: { status: number; body: unknown }, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status} ${JSON.stringify(response.body)}`);
  assertErrorShape(response.body);
  assert.equal(response.body.error.code, code, `expected ${code}, got ${JSON.stringify(response.body)}`);
}
