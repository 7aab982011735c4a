/**
 * Where a server's CPU went, from a `node --cpu-prof` file (see `--profile` of the gateway
 * benchmark): self time by area (our folders, each package, node internals, GC, idle), then the
 * functions with the most self time, then our functions and packages by inclusive time (what a
 * call costs with everything it calls). Every sample counts as the profile's median sampling
 * interval, so time spent waiting for a core on a busy machine is not charged to any function.
 *
 *   node --import tsx bench/src/summarize-cpu-profile.ts <file.cpuprofile> [--top N] [--requests N] [--under REGEX]
 *
 * --requests N (the run's request count, from its results JSON) adds µs per request;
 * --under REGEX splits the time spent below the frames matching REGEX (e.g. 'http-server.ts')
 * by the direct callee that was running, which is how a hook's cost is taken apart.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const repoMarker = /\/(libs|services|apps|contracts|bench)\/([^/]+)\//;

/** libs/platform, services/user, fastify, @opentelemetry/sdk-trace-base, node:internal, (gc)… */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1] as string;
  const repoMatch = repoMarker.exec(url);
  if (repoMatch) return `${repoMatch[1]}/${repoMatch[2]}`;
  if (url.startsWith('node:')) return 'node:internal';
  return url;
}

function shortUrl(url: string): string {
  const packageMatch = /node_modules\/(.*)$/.exec(url);
  if (packageMatch) return packageMatch[1] as string;
  const repoMatch = /\/((?:libs|services|apps|contracts|bench)\/.*)$/.exec(url);
  return repoMatch ? (repoMatch[1] as string) : url;
}

interface Tally {
  self: Map<string, number>;
  inclusive: Map<string, number>;
  areaSelf: Map<string, number>;
  areaInclusive: Map<string, number>;
  totalUs: number;
}

/**
 * What one sample counts for. V8 weighs a sample by the time since the previous one, so a
 * process that waited for a core (a busy machine) charges the whole wait to whatever happened to
 * be on the stack; counting every sample as the median interval keeps the numbers close to CPU.
 */
function sampleWeights(profile: CpuProfile): number[] {
  const deltas = profile.timeDeltas.slice(1).filter((dt) => dt > 0).sort((a, b) => a - b);
  const median = deltas[Math.floor(deltas.length / 2)] ?? 0;
  return profile.samples.map(() => median);
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function tallyProfile(profile: CpuProfile): Tally {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const keyOf = (node: ProfileNode): string =>
    `${node.callFrame.functionName || '(anonymous)'}  ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

  const tally: Tally = { self: new Map(), inclusive: new Map(), areaSelf: new Map(), areaInclusive: new Map(), totalUs: 0 };
  const weights = sampleWeights(profile);
  profile.samples.forEach((id, index) => {
    const dt = weights[index] ?? 0;
    const node = nodes.get(id);
    if (!node) return;
    tally.totalUs += dt;
    add(tally.self, keyOf(node), dt);
    add(tally.areaSelf, areaOf(node.callFrame.url, node.callFrame.functionName), dt);
    const seenKeys = new Set<string>();
    const seenAreas = new Set<string>();
    for (let current: ProfileNode | undefined = node; current; current = nodes.get(parents.get(current.id) ?? -1)) {
      const key = keyOf(current);
      if (!seenKeys.has(key)) {
        seenKeys.add(key);
        add(tally.inclusive, key, dt);
      }
      const area = areaOf(current.callFrame.url, current.callFrame.functionName);
      if (!seenAreas.has(area)) {
        seenAreas.add(area);
        add(tally.areaInclusive, area, dt);
      }
    }
  });
  return tally;
}

/** For samples below a frame matching `pattern`: which direct callee of that frame was running. */
function tallyCallees(profile: CpuProfile, pattern: RegExp): { totalUs: number; callees: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const label = (node: ProfileNode): string =>
    `${node.callFrame.functionName || '(anonymous)'}  ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
  const callees = new Map<string, number>();
  let totalUs = 0;
  const weights = sampleWeights(profile);
  profile.samples.forEach((id, index) => {
    const dt = weights[index] ?? 0;
    let below: ProfileNode | undefined;
    for (let current = nodes.get(id); current; current = nodes.get(parents.get(current.id) ?? -1)) {
      if (pattern.test(label(current))) {
        totalUs += dt;
        add(callees, `${label(current)}  →  ${below ? label(below) : '(self)'}`, dt);
        return;
      }
      below = current;
    }
  });
  return { totalUs, callees };
}

function top(map: Map<string, number>, count: number, filter: (key: string) => boolean = () => true): [string, number][] {
  return [...map.entries()].filter(([key]) => filter(key)).sort((a, b) => b[1] - a[1]).slice(0, count);
}

function table(title: string, rows: [string, number][], totalUs: number, busyUs: number, requests: number | undefined): string {
  const lines = [title];
  for (const [key, us] of rows) {
    const perRequest = requests ? `${(us / requests).toFixed(1).padStart(8)} µs/req` : '';
    lines.push(`${(us / 1000).toFixed(0).padStart(8)} ms ${((us / totalUs) * 100).toFixed(1).padStart(5)}% ${((us / busyUs) * 100).toFixed(1).padStart(5)}%b${perRequest}  ${key}`);
  }
  return lines.join('\n');
}

function flag(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

function main(): void {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    console.error('usage: summarize-cpu-profile.ts <file.cpuprofile> [--top N] [--requests N] [--under REGEX]');
    process.exitCode = 1;
    return;
  }
  const count = Number(flag(rest, 'top') ?? 25);
  const requestsFlag = flag(rest, 'requests');
  const requests = requestsFlag === undefined ? undefined : Number(requestsFlag);
  const under = flag(rest, 'under');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  if (under !== undefined) {
    const { totalUs, callees } = tallyCallees(profile, new RegExp(under));
    const perRequest = requests ? `, ${(totalUs / requests).toFixed(1)} µs per request` : '';
    console.log(`${file}: ${(totalUs / 1000).toFixed(0)} ms below frames matching /${under}/${perRequest}`);
    for (const [key, us] of top(callees, count)) {
      console.log(`${(us / 1000).toFixed(0).padStart(8)} ms${requests ? `${(us / requests).toFixed(1).padStart(8)} µs/req` : ''}  ${key}`);
    }
    return;
  }
  const tally = tallyProfile(profile);
  const idleUs = tally.areaSelf.get('(idle)') ?? 0;
  const busyUs = tally.totalUs - idleUs;
  const ours = (key: string): boolean => /\s(libs|services|apps|contracts)\//.test(key);
  console.log(
    `${file}: ${(tally.totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s busy ` +
      `(columns: ms, % of all, % of busy${requests ? ', µs per request' : ''})`,
  );
  console.log(table('\nself time by area', top(tally.areaSelf, count), tally.totalUs, busyUs, requests));
  console.log(table('\ninclusive time by area (an area counted once per sample)', top(tally.areaInclusive, count), tally.totalUs, busyUs, requests));
  console.log(table('\nself time by function', top(tally.self, count), tally.totalUs, busyUs, requests));
  console.log(table('\ninclusive time of our functions (libs, services, apps, contracts)', top(tally.inclusive, count, ours), tally.totalUs, busyUs, requests));
}

main();
