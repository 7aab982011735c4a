import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as contracts from '@carshare/contracts';
import { ApiError } from '@carshare/web-client';
import { errorMessage } from './error-message.ts';
import { de, en, languages } from './messages.ts';

/** Every error code an RPC contract declares (the gateway passes them through to the app). */
function contractErrorCodes(): string[] {
  const codes = new Set<string>();
  for (const value of Object.values(contracts)) {
    const service = value as { service?: unknown; methods?: Record<string, { errors?: readonly string[] }> };
    if (typeof service.service !== 'string' || typeof service.methods !== 'object') continue;
    for (const method of Object.values(service.methods)) for (const code of method.errors ?? []) codes.add(code);
  }
  return [...codes].sort();
}

/** Codes the gateway and the HTTP layer add of their own, and the client's for what never got an answer. */
const edgeCodes = [
  'VALIDATION_FAILED', 'RATE_LIMITED', 'ROUTE_NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'TOKEN_EXPIRED', 'INVALID_TOKEN', 'TOKEN_REVOKED',
  'IDEMPOTENCY_KEY_REQUIRED', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_USE', 'DEADLINE_EXCEEDED', 'CIRCUIT_OPEN', 'DOWNSTREAM_UNAVAILABLE',
  'NETWORK_ERROR', 'REQUEST_TIMEOUT', 'UNEXPECTED_RESPONSE', 'UPLOAD_FAILED',
];

describe('the rider app strings', () => {
  it('has a sentence for every error code the API can return, in every language', () => {
    const codes = [...contractErrorCodes(), ...edgeCodes];
    assert.ok(codes.length > 50, `found ${codes.length} codes: the contracts were read`);
    for (const [language, messages] of Object.entries(languages)) {
      const missing = codes.filter((code) => !messages.errors.codes[code]);
      assert.deepEqual(missing, [], `${language}: add a message to apps/rider-web/src/i18n/messages.ts for each of these codes`);
    }
  });

  it('has the same keys in German as in English, none left empty', () => {
    const keys = (value: unknown, prefix = ''): string[] =>
      typeof value === 'object' && value !== null ? Object.entries(value).flatMap(([key, inner]) => keys(inner, `${prefix}${key}.`)) : [prefix];
    assert.deepEqual(keys(de).sort(), keys(en).sort());
    const empty = (value: unknown): boolean => (typeof value === 'string' ? value.trim() === '' : Object.values(value as object).some(empty));
    assert.equal(empty(en) || empty(de), false);
  });

  it('reads an error by its code, else by its status, never showing the server’s developer message', () => {
    const error = (status: number, code: string) => new ApiError({ status, code, message: 'developer text' });
    assert.equal(errorMessage(en, error(409, 'CAR_NOT_AVAILABLE')), en.errors.codes['CAR_NOT_AVAILABLE']);
    assert.equal(errorMessage(de, error(409, 'CAR_NOT_AVAILABLE')), de.errors.codes['CAR_NOT_AVAILABLE']);
    assert.equal(errorMessage(en, error(503, 'SOMETHING_NEW')), en.errors.byStatus['5xx']);
    assert.equal(errorMessage(en, error(418, 'SOMETHING_NEW')), 'Something went wrong (SOMETHING_NEW). Please try again.');
    assert.equal(errorMessage(en, new TypeError('x')), 'Something went wrong (TypeError). Please try again.');
    assert.doesNotMatch(errorMessage(en, error(400, 'WEAK_PASSWORD')), /developer text/);
  });
});
