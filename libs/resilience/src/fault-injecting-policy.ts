import { Unavailable, type CallPolicy } from '@carshare/platform';
import { abortableDelay } from './abortable-delay.ts';
import { rpcErrorFault, rpcLatencyFault, type FaultRegistry } from './fault-registry.ts';

/**
 * Applies the `rpc.latency:<downstream>` and `rpc.error:<downstream>` switches to every call.
 * The fault is injected inside the wrapped policy, so the breaker, retry and bulkhead see an
 * injected failure exactly as they would see the downstream failing: that is what a drill tests.
 */
export function withInjectedFaults(inner: CallPolicy, faults: FaultRegistry, downstream: string): CallPolicy {
  faults.registerRpcFaults(downstream);
  const latencyFault = rpcLatencyFault(downstream);
  const errorFault = rpcErrorFault(downstream);
  return {
    execute: (call, options) =>
      inner.execute(async (signal) => {
        const latencyMs = faults.latencyFor(latencyFault);
        if (latencyMs > 0) await abortableDelay(latencyMs, signal);
        if (faults.shouldFail(errorFault)) {
          throw Unavailable('INJECTED_FAULT', `fault switch ${errorFault} failed this call`, { downstream, fault: errorFault });
        }
        return call(signal);
      }, options),
  };
}
