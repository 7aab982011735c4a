import assert from 'node:assert/strict';
import { it } from 'node:test';
import { measurePolicyOverhead } from './policy-overhead.bench.ts';

// Timing is asserted by `npm run bench`, not here: a loaded CI box would make a threshold flaky.
it('measures the bare call and the full policy stack', async () => {
  const result = await measurePolicyOverhead(2_000);
  assert.equal(result.iterations, 2_000);
  assert.ok(result.bareNsPerCall > 0);
  assert.ok(result.fullStackNsPerCall > result.bareNsPerCall, 'the stack costs something');
  assert.equal(result.overheadNsPerCall, result.fullStackNsPerCall - result.bareNsPerCall);
});
