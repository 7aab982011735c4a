import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@carshare/web-client';
import { de, en } from '../../i18n/messages.ts';
import { testCardTokenizer, testCardTokens } from './card-tokenizer.ts';
import { appendPage, cardName, formatExpiry, needsCard, withoutCard } from './payment-logic.ts';

const card = (id: string) => ({ id, brand: 'visa', last4: '4242', expMonth: 3, expYear: 2034 });

describe('the payment screen logic', () => {
  it('appends a next page without showing a card twice when a card added meanwhile shifted the pages', () => {
    assert.deepEqual(appendPage([card('a'), card('b')], [card('b'), card('c')]).map((c) => c.id), ['a', 'b', 'c']);
  });

  it('drops a removed card and keeps the others in order', () => {
    assert.deepEqual(withoutCard([card('a'), card('b'), card('c')], 'b').map((c) => c.id), ['a', 'c']);
  });

  it('names a card by brand and last digits, in each language, and prints the expiry as on the card', () => {
    assert.equal(cardName(en, { brand: 'amex', last4: '8431' }), 'American Express ending 8431');
    assert.equal(cardName(de, { brand: 'visa', last4: '4242' }), 'Visa mit Endziffern 4242');
    assert.equal(cardName(en, { brand: 'discover', last4: '1117' }), 'discover ending 1117');
    assert.equal(formatExpiry(3, 2034), '03/2034');
  });

  it('points to the Payment screen for card refusals only', () => {
    const refusal = (code: string, status = 409) => new ApiError({ status, code, message: code, traceId: 't' });
    assert.equal(needsCard(refusal('NO_PAYMENT_METHOD')), true);
    assert.equal(needsCard(refusal('PAYMENT_DECLINED', 402)), true);
    assert.equal(needsCard(refusal('CARD_REFUSED', 400)), true);
    assert.equal(needsCard(refusal('PROFILE_NOT_VERIFIED')), false);
    assert.equal(needsCard(new Error('NO_PAYMENT_METHOD')), false);
  });

  it('tokenises the picked test card and refuses when none is picked; every test card has a label in both languages', async () => {
    assert.equal(await testCardTokenizer(() => 'tok_mastercard').tokenize(), 'tok_mastercard');
    await assert.rejects(testCardTokenizer(() => undefined).tokenize(), /NO_CARD_PICKED/);
    for (const token of testCardTokens) {
      assert.ok(en.payment.testCards[token], `en label for ${token}`);
      assert.ok(de.payment.testCards[token], `de label for ${token}`);
    }
  });
});
