import type { HttpServer } from '@carshare/platform';

/** The rider app at `/` and the operator console at `/admin`, served from their built files (issue 15). */
export async function registerWebApps(_app: HttpServer): Promise<void> {
  // Served once the apps are built; until then `/` and `/admin` are unmatched routes (404).
}
