import type { StringKey } from './i18n/strings.ts';

/**
 * The console's screens, addressed by the URL hash (`/admin/#/cars`): the gateway then serves the
 * one index.html for /admin whatever screen is open, and a reload or a shared link opens the same
 * screen.
 */
export const screens = [
  { id: 'map', label: 'nav.map' },
  { id: 'cars', label: 'nav.cars' },
  { id: 'reviews', label: 'nav.reviews' },
  { id: 'users', label: 'nav.users' },
  { id: 'trips', label: 'nav.trips' },
  { id: 'fees', label: 'nav.fees' },
  { id: 'stats', label: 'nav.stats' },
  { id: 'dead-letters', label: 'nav.deadLetters' },
  { id: 'faults', label: 'nav.faults' },
] as const satisfies ReadonlyArray<{ id: string; label: StringKey }>;

export type ScreenId = (typeof screens)[number]['id'];

export function screenFromHash(hash: string): ScreenId {
  const id = hash.replace(/^#\/?/, '').split('/')[0];
  return screens.find((screen) => screen.id === id)?.id ?? 'cars';
}
