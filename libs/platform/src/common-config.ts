import { Type } from 'typebox';

/** Config every service has, so each service's config.ts only adds what is its own. */
export const LogConfig = Type.Object({
  level: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  /** Unset: pretty when stdout is a terminal. */
  pretty: Type.Optional(Type.Boolean()),
});

export const TracingConfig = Type.Object({
  otlpEndpoint: Type.Optional(Type.String({ minLength: 1 })),
  sampleRatio: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
});

export const HttpConfig = (defaultPort: number) =>
  Type.Object({
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 }),
    defaultDeadlineMs: Type.Integer({ minimum: 1, default: 10_000 }),
    /** Behind a load balancer: take the client address from X-Forwarded-For. */
    trustProxy: Type.Boolean({ default: false }),
    /** Slow clients: headers, then the whole request, must arrive within these, else 408 and close. */
    headersTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    requestTimeoutMs: Type.Integer({ minimum: 100, default: 15_000 }),
    /** A socket silent this long in the middle of a request is closed. */
    connectionTimeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
  });

export const DatabaseConfig = Type.Object({
  /** PostgreSQL; unset → embedded PGlite in dataDir. */
  url: Type.Optional(Type.String({ minLength: 1 })),
  dataDir: Type.String({ default: './data' }),
  /**
   * Where embedded PGlite runs its statements: on a worker thread of its own (ADR 0031), or on the
   * event loop as before, for comparison; PostgreSQL ignores it.
   */
  pgliteThread: Type.Union([Type.Literal('worker'), Type.Literal('event-loop')], { default: 'worker' }),
});

export const MessagingConfig = Type.Object({
  /** RabbitMQ; unset → the in-process bus. */
  amqpUrl: Type.Optional(Type.String({ minLength: 1 })),
});

export const commonEnvMap = {
  AMQP_URL: 'messaging.amqpUrl',
  LOG_LEVEL: 'log.level',
  LOG_PRETTY: 'log.pretty',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'tracing.otlpEndpoint',
  OTEL_TRACES_SAMPLER_ARG: 'tracing.sampleRatio',
  DATABASE_URL: 'database.url',
  CARSHARE_DATA_DIR: 'database.dataDir',
  CARSHARE_PGLITE_THREAD: 'database.pgliteThread',
} as const;
