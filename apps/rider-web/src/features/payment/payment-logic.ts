import { isApiError } from '@carshare/web-client';
import { format } from '../../i18n/format.ts';
import type { Messages } from '../../i18n/messages.ts';

export interface SavedCard {
  id: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

/** A page appended after what is shown, a card never twice (a card added meanwhile shifts the pages). */
export function appendPage<T extends { id: string }>(shown: readonly T[], page: readonly T[]): T[] {
  const seen = new Set(shown.map((card) => card.id));
  return [...shown, ...page.filter((card) => !seen.has(card.id))];
}

export function withoutCard<T extends { id: string }>(shown: readonly T[], id: string): T[] {
  return shown.filter((card) => card.id !== id);
}

/** MM/YYYY, as printed on the card. */
export function formatExpiry(month: number, year: number): string {
  return `${String(month).padStart(2, '0')}/${year}`;
}

export function cardName(messages: Messages, card: Pick<SavedCard, 'brand' | 'last4'>): string {
  return format(messages.payment.card, { brand: messages.payment.brands[card.brand] ?? card.brand, last4: card.last4 });
}

/** Refusals a saved (other) card fixes: where they show, the app points to the Payment screen. */
const cardCodes = new Set(['NO_PAYMENT_METHOD', 'PAYMENT_DECLINED', 'CARD_REFUSED']);
export function needsCard(error: unknown): boolean {
  return isApiError(error) && cardCodes.has(error.code);
}
