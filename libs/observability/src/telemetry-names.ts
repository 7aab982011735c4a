/**
 * Every metric and span name the platform creates, defined once (DESIGN.md rule 8): dashboards,
 * alerts and tests look here, and a rename is one line.
 *
 * - HTTP, RPC and event-consumer metrics follow the OpenTelemetry semantic conventions in their
 *   Prometheus form (dots become underscores, the unit is a suffix, counters end in `_total`), and
 *   so do their labels (`http.route` → `http_route`): dashboards built on those conventions work.
 * - Node.js and process metrics are prom-client's defaults under their own names (`process_*`,
 *   `nodejs_*`), unprefixed, so stock Node.js dashboards work.
 * - What is ours alone (breakers, rate limits, faults, caches, outbox, dead letters) is prefixed:
 *   `carshare_` for the platform and domain, `messaging_` and `saga_` for those libraries.
 *
 * Every name passes `promtool check metrics` (a test in libs/platform scrapes a live server).
 */
export const metricNames = {
  http: {
    /** OTel `http.server.request.duration`. */
    serverRequestDuration: 'http_server_request_duration_seconds',
  },
  rpc: {
    /** OTel `rpc.server.duration`, in seconds. */
    serverDuration: 'rpc_server_duration_seconds',
    /** OTel `rpc.client.duration`, in seconds. */
    clientDuration: 'rpc_client_duration_seconds',
  },
  messaging: {
    /** OTel `messaging.client.consumed.messages`: deliveries a consumer group handled, by outcome. */
    consumed: 'messaging_client_consumed_messages_total',
    /** OTel `messaging.process.duration`: time a consumer group spent on one delivery. */
    consumeDuration: 'messaging_process_duration_seconds',
    /** OTel `messaging.client.sent.messages`: events the bus accepted. */
    published: 'messaging_client_sent_messages_total',
    deadLetters: 'messaging_dead_letter_messages',
    inboxDuplicates: 'messaging_inbox_duplicate_messages_total',
    outboxPending: 'messaging_outbox_pending_messages',
    relayLag: 'messaging_outbox_relay_lag_seconds',
    brokerConnected: 'messaging_broker_connected',
    brokerReconnects: 'messaging_broker_reconnects_total',
  },
  /** Persisted sagas (libs/saga): `saga_finished_total{outcome="failed"}` needs an operator. */
  saga: {
    started: 'saga_started_total',
    finished: 'saga_finished_total',
    compensationRetries: 'saga_compensation_retries_total',
  },
  resilience: {
    breakerState: 'carshare_breaker_state',
    breakerTransitions: 'carshare_breaker_transitions_total',
    retries: 'carshare_retries_total',
    retryBudgetExhausted: 'carshare_retry_budget_exhausted_total',
    bulkheadRejections: 'carshare_bulkhead_rejections_total',
    rateLimitFallbacks: 'carshare_rate_limit_fallback_total',
    rateLimitStoreDegraded: 'carshare_rate_limit_store_degraded',
    faultSwitchPercent: 'carshare_fault_switch_percent',
  },
  platform: {
    unhandledErrors: 'carshare_unhandled_errors_total',
    cacheLookups: 'carshare_cache_lookups_total',
  },
  /**
   * The analytics read model (services/analytics): business series counted as its consumers
   * project events, levels read from its views at scrape time, and how far its consumers lag.
   */
  analytics: {
    tripsStarted: 'carshare_trips_started_total',
    tripsFinished: 'carshare_trips_finished_total',
    revenueCents: 'carshare_revenue_cents_total',
    activeTrips: 'carshare_active_trips',
    unlockAttempts: 'carshare_unlock_attempts_total',
    registrations: 'carshare_registrations_total',
    verificationDecisions: 'carshare_verification_decisions_total',
    failedTripStarts: 'carshare_failed_trip_starts_total',
    carsOffline: 'carshare_cars_offline',
    tripRevenueCents: 'carshare_trip_revenue_cents_total',
    tripSeconds: 'carshare_trip_seconds_total',
    fleetCars: 'carshare_fleet_cars',
    searchRiders: 'carshare_search_riders_total',
    searchConversions: 'carshare_search_conversions_total',
    reviewDuration: 'carshare_review_duration_seconds',
    consumerLag: 'carshare_analytics_consumer_lag_seconds',
    unprojectedEvents: 'carshare_analytics_unprojected_events_total',
  },
  /** The user service's signing keys: alert when reloads fail or the last one grows old. */
  signingKeys: {
    reloadFailures: 'carshare_signing_key_reload_failures_total',
    lastReload: 'carshare_signing_key_last_reload_timestamp_seconds',
  },
  /**
   * The car service (services/car): what devices sent and what its device gateway refused. A
   * rising refusal or rejection rate is broken firmware or an attack.
   */
  car: {
    /** By `result`: accepted, or why a report was rejected. */
    telemetryReports: 'carshare_car_telemetry_reports_total',
    /** By `reason`: bad credential, topic not allowed, payload or packet too large, malformed ack. */
    deviceRefusals: 'carshare_car_device_refusals_total',
    /** By `why`: late (after the deadline), unknown or already settled command. */
    ignoredAcks: 'carshare_car_ignored_acks_total',
    connectedDevices: 'carshare_car_connected_devices',
    telemetryFlushFailures: 'carshare_car_telemetry_flush_failures_total',
  },
} as const;

/** Label names of the RED histograms: the OpenTelemetry attribute names in Prometheus form. */
export const metricLabels = {
  httpRequestMethod: 'http_request_method',
  httpRoute: 'http_route',
  httpResponseStatusCode: 'http_response_status_code',
  rpcService: 'rpc_service',
  rpcMethod: 'rpc_method',
  /** The canonical code name (`OK`, `NOT_FOUND`, `UNAVAILABLE`, …), OTel `rpc.response.status_code`. */
  rpcStatusCode: 'rpc_response_status_code',
} as const;

/**
 * prom-client default gauges that `promtool check metrics` rejects (a gauge may not end in
 * `_total`); their per-type siblings (`nodejs_active_handles{type}`, …) carry the same numbers.
 */
export const droppedDefaultMetricNames = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** The route label and span name part of a request no route matched (bounded, never the raw path). */
export const unmatchedRoute = 'unmatched';

/** Span names, following the OpenTelemetry conventions where they name one. */
export const spanNames = {
  /** OTel HTTP server span: `{method} {http.route}`. */
  httpServer: (method: string, route: string): string => `${method} ${route}`,
  rpcClient: (service: string, method: string): string => `rpc ${service}/${method}`,
  eventConsumer: (eventType: string): string => `consume ${eventType}`,
} as const;
