export const sqlEngineDefaults = {
  poolSize: 5,
  connectTimeoutMs: 5000,
  busyTimeoutMs: 10_000,
  pingTimeoutMs: 2000,
} as const;
