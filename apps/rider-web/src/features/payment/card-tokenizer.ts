/**
 * The one seam to the card processor's browser SDK. A real processor's widget takes the card
 * number in its own frame and hands back a token; the platform only ever sees that token. In this
 * build the processor is simulated, so the "widget" offers its published test cards instead.
 */
export interface CardTokenizer {
  tokenize(): Promise<string>;
}

/** The simulated processor's test tokens (services/payment simulated-payment-provider.ts), in the order offered. */
export const testCardTokens = ['tok_visa', 'tok_mastercard', 'tok_amex', 'tok_chargeDeclined', 'tok_insufficientFunds'] as const;
export type TestCardToken = (typeof testCardTokens)[number];

/** Tokenises the test card the rider picked: with a test card the token is known in advance. */
export function testCardTokenizer(pick: () => TestCardToken | undefined): CardTokenizer {
  return {
    tokenize() {
      const token = pick();
      return token ? Promise.resolve(token) : Promise.reject(new Error('NO_CARD_PICKED'));
    },
  };
}
