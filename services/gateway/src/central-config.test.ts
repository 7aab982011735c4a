import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultRegistry } from '@carshare/resilience';
import { applyFaultSettings, centralConfigActor, faultSettingsProblem } from './central-config.ts';

function registry(): FaultRegistry {
  const faults = new FaultRegistry();
  faults.registerRpcFaults('user');
  faults.registerRpcFaults('car');
  return faults;
}

describe('fault switches from central config', () => {
  it('sets the switches a value names and turns off every other one, auditing only real changes', () => {
    const faults = registry();
    faults.set('rpc.error:car', { percent: 30 }, 'an operator');
    applyFaultSettings(faults, { 'rpc.error:user': { percent: 100 }, 'rpc.latency:user': { percent: 50, latencyMs: 200 } });
    const byName = new Map(faults.list().map((fault) => [fault.name, fault]));
    assert.equal(byName.get('rpc.error:user')?.percent, 100);
    assert.deepEqual([byName.get('rpc.latency:user')?.percent, byName.get('rpc.latency:user')?.latencyMs], [50, 200]);
    assert.equal(byName.get('rpc.error:car')?.percent, 0);
    const before = faults.auditLog().length;
    applyFaultSettings(faults, { 'rpc.error:user': { percent: 100 }, 'rpc.latency:user': { percent: 50, latencyMs: 200 } });
    assert.equal(faults.auditLog().length, before, 'the same value again changes nothing');
    assert.ok(faults.auditLog().slice(1).every((change) => change.by === centralConfigActor));
  });

  it('finds what the registry would refuse before any switch moves', () => {
    const faults = registry();
    assert.equal(faultSettingsProblem(faults, { 'rpc.error:user': { percent: 10 } }), undefined);
    assert.match(faultSettingsProblem(faults, { 'rpc.error:nowhere': { percent: 10 } }) ?? '', /no fault switch named rpc.error:nowhere/);
    assert.match(faultSettingsProblem(faults, { 'rpc.error:user': { percent: 10, latencyMs: 5 } }) ?? '', /does not carry a latency/);
  });
});
