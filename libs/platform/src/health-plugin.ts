import { fastifyPlugin } from 'fastify-plugin';

export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<void>;
}

export interface HealthOptions {
  readiness: ReadinessCheck[];
  readinessTimeoutMs: number;
}

async function runCheck(readiness: ReadinessCheck, timeoutMs: number): Promise<string | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    await Promise.race([
      readiness.check(signal),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error(`timed out after ${timeoutMs} ms`)))),
    ]);
    return undefined;
  } catch (error) {
    return (error as Error).message || 'failed';
  }
}

/**
 * `/health/live` (the process answers) and `/health/ready` (every readiness check passes within
 * its timeout, and the server is not draining): the probes of the kustomize base.
 */
export const healthPlugin = fastifyPlugin<HealthOptions>(
  (app, options, done) => {
    let closing = false;
    app.addHook('preClose', (next) => {
      closing = true;
      next();
    });

    app.get('/health/live', { logLevel: 'silent' }, async () => ({ status: 'ok' }));

    app.get('/health/ready', { logLevel: 'silent' }, async (_request, reply) => {
      if (closing) return reply.code(503).send({ status: 'closing', checks: {} });
      const checks: Record<string, string> = {};
      let ready = true;
      await Promise.all(
        options.readiness.map(async (readiness) => {
          const failure = await runCheck(readiness, options.readinessTimeoutMs);
          if (failure !== undefined) ready = false;
          checks[readiness.name] = failure ?? 'ok';
        }),
      );
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
    });
    done();
  },
  { name: 'carshare-health', fastify: '5.x' },
);
