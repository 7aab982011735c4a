const uniqueViolation = '23505';

interface DriverError {
  code?: unknown;
  constraint?: unknown;
  cause?: unknown;
}

// pg and PGlite both put the SQLSTATE on `code`; a wrapper may hide it under `cause`.
function findUniqueViolation(error: unknown): DriverError | undefined {
  let current = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const candidate = current as DriverError;
    if (candidate.code === uniqueViolation) return candidate;
    current = candidate.cause;
  }
  return undefined;
}

/** SQLSTATE 23505 from either engine. */
export function isUniqueViolation(error: unknown): boolean {
  return findUniqueViolation(error) !== undefined;
}

/** Which unique constraint was hit, so a store can tell "email taken" from "id taken". */
export function uniqueViolationConstraint(error: unknown): string | undefined {
  const constraint = findUniqueViolation(error)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
