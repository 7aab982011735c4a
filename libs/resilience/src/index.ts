export { createDownstreamPolicy } from './downstream-policy.ts';
export type { DownstreamPolicy, DownstreamPolicyDeps } from './downstream-policy.ts';
export type { CallOptions } from './retry-policy.ts';
export type { BreakerState } from './circuit-breaker.ts';
export { defaultDownstreamSettings, resolveDownstreamSettings } from './downstream-settings.ts';
export type {
  BreakerSettings,
  BulkheadSettings,
  DownstreamSettings,
  DownstreamSettingsOverrides,
  RetrySettings,
} from './downstream-settings.ts';
export { isDownstreamFault, isNetworkError, isRetryable } from './downstream-faults.ts';

export { createRateLimiter } from './rate-limiter.ts';
export type { RateLimiter, RateLimiterDeps } from './rate-limiter.ts';
export { assertValidRateLimit } from './rate-limit-store.ts';
export type { RateLimitAlgorithm, RateLimitDecision, RateLimitRule, RateLimitStore } from './rate-limit-store.ts';
export { MemoryRateLimitStore } from './memory-rate-limit-store.ts';
export type { MemoryRateLimitStoreOptions } from './memory-rate-limit-store.ts';
export { RedisRateLimitStore } from './redis-rate-limit-store.ts';
export type { RedisRateLimitStoreOptions } from './redis-rate-limit-store.ts';
export { FailOpenRateLimitStore } from './fail-open-rate-limit-store.ts';
export type { FailOpenRateLimitStoreOptions } from './fail-open-rate-limit-store.ts';

export { FaultRegistry, rpcErrorFault, rpcLatencyFault } from './fault-registry.ts';
export type { FaultChange, FaultDefinition, FaultRegistryDeps, FaultSetting, FaultSwitch } from './fault-registry.ts';

export { breakerStateValue, resilienceMetrics } from './resilience-metrics.ts';
export type { ResilienceMetrics } from './resilience-metrics.ts';

export { measurePolicyOverhead } from './policy-overhead.bench.ts';
export type { PolicyOverhead } from './policy-overhead.bench.ts';

export { withInjectedFaults } from './fault-injecting-policy.ts';
