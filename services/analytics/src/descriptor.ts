import { analyticsRpc } from '@carshare/contracts';
import { defineService, requireBus, requireDatabase, type ServiceCommand } from '@carshare/service-kit';
import { analyticsConfigShape } from './config.ts';
import { createAnalyticsModule, analyticsMigrationsDir, type AnalyticsModule } from './module.ts';

/** A progress line at most this often, and at the end: a million events print a few dozen lines. */
const progressEveryMs = 1_000;

const rebuildCommand: ServiceCommand<AnalyticsModule> = {
  words: ['analytics', 'rebuild'],
  summary: 'drop the analytics views and replay the event archive into them (stop the analytics service first on PGlite)',
  async run(module, _values, say) {
    const started = performance.now();
    let lastSaid = 0;
    const { replayed } = await module.service.rebuild((done, total) => {
      const now = performance.now();
      if (done < total && now - lastSaid < progressEveryMs) return;
      lastSaid = now;
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      const rate = Math.round(done / Math.max((now - started) / 1000, 0.001));
      say(`rebuild: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} events (${percent} %), ${rate.toLocaleString('en')} events/s`);
    });
    say(`rebuilt the analytics views from ${replayed.toLocaleString('en')} archived events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  },
};

/** The operator's business figures: read models built only from events, rebuildable from its archive. */
export const analyticsDescriptor = defineService({
  name: 'analytics',
  ...analyticsConfigShape,
  migrationsDir: analyticsMigrationsDir,
  messaging: true,
  rpc: analyticsRpc,
  // Callers arrive with signed service identities (ADR 0012): no other service is needed to check them.
  calls: [],
  createModule: (deps) => createAnalyticsModule({ ...deps, database: requireDatabase(deps, 'analytics'), bus: requireBus(deps, 'analytics') }),
  commands: [rebuildCommand],
});
