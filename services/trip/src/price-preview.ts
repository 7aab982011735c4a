import type { LiveConfig } from '@carshare/platform';
import { tariffFor, type TripCarCategory } from './config.ts';
import { previewPrice, type PriceBreakdown } from './domain/pricing.ts';
import type { TripSettings } from './ports.ts';

export interface PricePreviewResult extends PriceBreakdown {
  category: TripCarCategory;
  minutes: number;
  km: number;
}

/**
 * The price shown before a trip starts. Read from the live table on every call, so a reloaded
 * tariff shows at once; the caller names the category (the gateway read it with the car), which
 * spares the trip service a call to the car service.
 */
export function createPricePreview(deps: { settings: LiveConfig<TripSettings> }) {
  return {
    previewPrice(input: { category: TripCarCategory; minutes: number; km: number }): PricePreviewResult {
      const tariff = tariffFor(deps.settings.get().tariffs, input.category);
      return { ...previewPrice(tariff, input.minutes, input.km), category: input.category, minutes: input.minutes, km: input.km };
    },
  };
}
