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

/**
 * CPU seconds (user + system) of this process's children that have exited and been waited for
 * (cutime + cstime of /proc/self/stat): how the CPU of a load generator run as a child (wrk) is
 * counted, since its own /proc entry is gone once it has exited. undefined off Linux.
 */
export function exitedChildrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // cutime and cstime are fields 16 and 17 of the whole line, 14 and 15 after "pid (comm)".
    return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
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
  /**
   * Cores used on average (1.0 = one core fully busy) by the load generator: this process, plus
   * the children that exited during the run (wrk).
   */
  loadGenerator: number;
  /** …by the server under test: the sum over its processes. */
  server: number | undefined;
  /** …by each server process, in the order of the pids given (one entry for a single server). */
  servers: (number | undefined)[];
  /** …by everything else on the machine: others' builds and tests skew the numbers. */
  others: number | undefined;
  /** Wall seconds the meter ran: share × this = CPU seconds. */
  wallSec: number;
}

export interface CpuMeter {
  stop(): CpuShares;
}

/**
 * Tells whether the server or the load generator was the bottleneck of a run. `serverPids` may
 * name several processes (a gateway and the service behind it): `server` is then their sum.
 */
export function startCpuMeter(serverPids: number | readonly number[] | undefined): CpuMeter {
  const pids = serverPids === undefined ? [] : typeof serverPids === 'number' ? [serverPids] : [...serverPids];
  const wallStart = performance.now();
  const selfStart = process.cpuUsage();
  const childrenStart = exitedChildrenCpuSeconds();
  const serverStart = pids.map((pid) => cpuSecondsOf(pid));
  const machineStart = machineBusySeconds();
  return {
    stop() {
      const wallSec = (performance.now() - wallStart) / 1000;
      const self = process.cpuUsage(selfStart);
      const childrenEnd = exitedChildrenCpuSeconds();
      const serverEnd = pids.map((pid) => cpuSecondsOf(pid));
      const machineEnd = machineBusySeconds();
      const children = childrenStart === undefined || childrenEnd === undefined ? 0 : childrenEnd - childrenStart;
      const loadGenerator = ((self.user + self.system) / 1e6 + children) / wallSec;
      const servers = pids.map((_pid, index) => {
        const start = serverStart[index];
        const end = serverEnd[index];
        return start === undefined || end === undefined ? undefined : (end - start) / wallSec;
      });
      const server = servers.length === 0 || servers.some((share) => share === undefined) ? undefined : servers.reduce((sum: number, share) => sum + (share as number), 0);
      const machine = machineStart === undefined || machineEnd === undefined ? undefined : (machineEnd - machineStart) / wallSec;
      return {
        loadGenerator,
        server,
        servers,
        others: machine === undefined ? undefined : Math.max(0, machine - loadGenerator - (server ?? 0)),
        wallSec,
      };
    },
  };
}
