import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStaff } from '@carshare/contracts';
import { DeadlineCallContext, isOperator, roles, type CallContext } from './call-context.ts';

describe('isOperator', () => {
  it('is the contract’s staff check applied to a caller, for every role', () => {
    for (const role of roles) assert.equal(isOperator({ userId: 'u', role, plan: 'free', token: 't' }), isStaff(role), role);
  });

  it('is false for an anonymous call', () => {
    assert.equal(isOperator(undefined), false);
  });
});

describe('DeadlineCallContext', () => {
  it('has its own deadline and shares the parent’s signal, logger, span, request id and caller, without being made of it', () => {
    const controller = new AbortController();
    const log = { child: () => log } as unknown as CallContext['log'];
    const span = {} as CallContext['span'];
    const caller = { userId: 'u', role: 'rider' as const, plan: 'free', token: 't' };
    const parent: CallContext = { requestId: 'r-1', deadline: 10_000, signal: controller.signal, span, log, caller };
    const part = new DeadlineCallContext(parent, 5_000);
    assert.equal(part.deadline, 5_000);
    assert.equal(parent.deadline, 10_000);
    assert.equal(part.signal, controller.signal);
    assert.equal(part.log, log);
    assert.equal(part.span, span);
    assert.equal(part.requestId, 'r-1');
    assert.equal(part.caller, caller);
    assert.equal(Object.getPrototypeOf(part), DeadlineCallContext.prototype, 'never a prototype made of the request (DESIGN.md §5)');
  });
});
