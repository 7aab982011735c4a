/** The crash test's saga steps, in order; shared by the test and the child it kills. */
export const crashStepNames = ['reserve-trip', 'claim-car', 'authorise-deposit', 'unlock-car'] as const;

/**
 * Every point the crash test kills the child at, in turn: before and after each step's effect,
 * after its log record, and the same for each compensation (the last of which sits between two
 * compensations).
 */
export const crashPoints: readonly string[] = crashStepNames.flatMap((step) => [
  `invoke:${step}`,
  `applied:${step}`,
  `invoked:${step}`,
  `compensate:${step}`,
  `compensation-applied:${step}`,
  `compensated:${step}`,
]);

/** Points inside the local step's transaction: on PGlite a saga held there holds the one session. */
export function isInsideTransaction(point: string): boolean {
  return point.endsWith(':reserve-trip') && !point.startsWith('invoked:') && !point.startsWith('compensated:');
}

/** Which step a saga must be refused at to reach `point` (compensation points need a failure). */
export function refusalFor(point: string): 'authorise-deposit' | 'unlock-car' | undefined {
  if (!point.startsWith('compensat')) return undefined;
  return point.endsWith(':unlock-car') || point.endsWith(':reserve-trip') ? 'unlock-car' : 'authorise-deposit';
}

/**
 * The points grouped into lives: each life holds one new saga at each of its points at once and
 * is killed when all of them are there. One point inside the local transaction per life, reached
 * last, since on PGlite it holds the session the others need.
 */
export function crashLives(sequential: boolean): string[][] {
  if (sequential) return crashPoints.map((point) => [point]);
  const inside = crashPoints.filter(isInsideTransaction);
  const outside = crashPoints.filter((point) => !isInsideTransaction(point));
  const perLife = Math.ceil(outside.length / inside.length);
  return inside.map((point, life) => [...outside.slice(life * perLife, (life + 1) * perLife), point]);
}
