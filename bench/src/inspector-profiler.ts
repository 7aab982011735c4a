import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

export interface InspectorProfiler {
  start(): Promise<void>;
  /** Stops the profile started last and writes it (.cpuprofile, for Chrome DevTools or summarize-cpu-profile.ts). */
  stop(file: string): Promise<void>;
  /** Profiles `work` alone. */
  profile<T>(file: string, work: () => Promise<T>): Promise<T>;
  close(): void;
}

/** In-process CPU profiles of one stretch of work, where `--cpu-prof` would cover the whole run. */
export async function startInspectorProfiler(samplingIntervalMicros = 100): Promise<InspectorProfiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalMicros });
  const profiler: InspectorProfiler = {
    async start() {
      await session.post('Profiler.start');
    },
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(file, JSON.stringify(profile));
    },
    async profile(file, work) {
      await profiler.start();
      try {
        return await work();
      } finally {
        await profiler.stop(file);
      }
    },
    close: () => session.disconnect(),
  };
  return profiler;
}
