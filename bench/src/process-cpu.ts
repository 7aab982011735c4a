import { readFileSync } from 'node:fs';

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every kernel Node runs on.
const ticksPerSecond = 100;

/** CPU seconds (user + system, all threads) another process has used; undefined off Linux. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm)".
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat; undefined off Linux. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
    // cpu user nice system idle iowait irq softirq steal …
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

export interface CpuShares {
  /** Cores used on average (1.0 = one core fully busy) by this process. */
  loadGenerator: number;
  /** …by the server under test. */
  server: number | undefined;
  /** …by everything else on the machine: others' builds and tests skew the numbers. */
  others: number | undefined;
}

export interface CpuMeter {
  stop(): CpuShares;
}

/** Tells whether the server or the load generator was the bottleneck of a run. */
export function startCpuMeter(serverPid: number | undefined): CpuMeter {
  const wallStart = performance.now();
  const selfStart = process.cpuUsage();
  const serverStart = serverPid === undefined ? undefined : cpuSecondsOf(serverPid);
  const machineStart = machineBusySeconds();
  return {
    stop() {
      const wallSec = (performance.now() - wallStart) / 1000;
      const self = process.cpuUsage(selfStart);
      const serverEnd = serverPid === undefined ? undefined : cpuSecondsOf(serverPid);
      const machineEnd = machineBusySeconds();
      const loadGenerator = (self.user + self.system) / 1e6 / wallSec;
      const server = serverStart === undefined || serverEnd === undefined ? undefined : (serverEnd - serverStart) / wallSec;
      const machine = machineStart === undefined || machineEnd === undefined ? undefined : (machineEnd - machineStart) / wallSec;
      return {
        loadGenerator,
        server,
        others: machine === undefined ? undefined : Math.max(0, machine - loadGenerator - (server ?? 0)),
      };
    },
  };
}
