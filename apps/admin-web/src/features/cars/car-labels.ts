import type { CarCategory, CarState, FuelType } from '@carshare/contracts';
import type { StringKey } from '../../i18n/strings.ts';

export const carStates: readonly CarState[] = ['available', 'reserved', 'unlocking', 'in_use', 'locking', 'maintenance', 'offline'];
export const carCategories: readonly CarCategory[] = ['small', 'compact', 'premium', 'van'];
export const fuelTypes: readonly FuelType[] = ['electric', 'petrol', 'diesel', 'hybrid'];

export const stateLabel = (state: CarState): StringKey => `state.${state}`;
export const categoryLabel = (category: CarCategory): StringKey => `category.${category}`;
export const fuelLabel = (fuel: FuelType): StringKey => `fuel.${fuel}`;

/**
 * One colour per car state, shared by the map and the tables so an operator learns it once.
 * Chosen to stay apart for the common colour-vision deficiencies (Okabe–Ito palette), and the
 * state is always written beside the colour as well.
 */
export const stateColours: Record<CarState, string> = {
  available: '#009E73',
  reserved: '#E69F00',
  unlocking: '#56B4E9',
  in_use: '#0072B2',
  locking: '#56B4E9',
  maintenance: '#D55E00',
  offline: '#6b6b6b',
};
