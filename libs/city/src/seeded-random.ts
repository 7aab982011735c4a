/** A uniform number in [0, 1). Everything random in the city and the simulator takes one of these, never Math.random. */
export type RandomSource = () => number;

/**
 * mulberry32: a tiny, fast 32-bit generator. Not for secrets; for reproducible cities and
 * fleets, where the same seed must give the same streets and the same trips on every machine.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An integer in [min, max]. */
export function randomInt(random: RandomSource, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
