import { watchFile, unwatchFile } from 'node:fs';
import type { Logger } from '@carshare/observability';
import type { LiveConfig } from './live-config.ts';

/**
 * Re-reads a config file when it changes and hands the new value to a LiveConfig. A bad edit
 * is logged and ignored: the running value stays, so a typo cannot take the limits away.
 * Polls (every second) rather than fs.watch, which misses editors' rename-and-replace saves.
 */
export function watchConfigFile<T>(file: string, reload: () => T, live: LiveConfig<T>, logger: Logger, intervalMs = 1_000): () => void {
  const onChange = () => {
    try {
      live.set(reload());
      logger.info({ file }, 'configuration reloaded');
    } catch (error) {
      logger.error({ file, err: error }, 'configuration change rejected; keeping the running values');
    }
  };
  watchFile(file, { interval: intervalMs, persistent: false }, onChange);
  return () => unwatchFile(file, onChange);
}
