import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const profilesDir = resolve(import.meta.dirname, '..', 'results', 'profiles');

/** Where `--profile` puts the profile of one run: bench/results/profiles/<benchmark>-<run>-<time>.cpuprofile. */
export function profileFileFor(benchmark: string, run: string, startedAt: Date): string {
  mkdirSync(profilesDir, { recursive: true });
  return join(profilesDir, `${benchmark}-${run}-${startedAt.toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
}
