/* global process, console, setTimeout */
/**
 * The child side of bench/src/spawn-child-server.ts for the peers, which run on plain `node`
 * (no tsx, nothing from the monorepo): one JSON line on stdout once listening, and an exit when
 * the parent closes our stdin or sends SIGTERM, so a peer never outlives the benchmark.
 */
export function announceReady(info) {
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
}

export function closeWithParent(close) {
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), 5_000).unref();
    Promise.resolve()
      .then(close)
      .then(
        () => process.exit(0),
        (error) => {
          console.error('closing failed:', error);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  // Commands the parent may send (profiling) are not supported here: read and drop them.
  process.stdin.resume();
}

/** A required environment variable: the parent passes ports, the secret and the rider's id. */
export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function portFromEnv(name) {
  const port = Number(requiredEnv(name));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error(`${name} is not a port`);
  return port;
}
