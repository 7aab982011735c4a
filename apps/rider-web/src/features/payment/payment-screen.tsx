import { paymentRoutes } from '@carshare/contracts';
import { useEffect, useMemo, useState } from 'react';
import { api } from '../../app/api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { testCardTokenizer, testCardTokens, type TestCardToken } from './card-tokenizer.ts';
import { appendPage, cardName, formatExpiry, withoutCard, type SavedCard } from './payment-logic.ts';

const pageSize = 10;

/** `/payment`: my saved cards (newest first; the newest pays), remove one, add one through the processor's widget. */
export function PaymentScreen() {
  const { t, format } = useI18n();
  const [cards, setCards] = useState<SavedCard[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<unknown>();
  // `seq` reloads the first page after a change (a new card is the newest, so it lands first).
  const [request, setRequest] = useState<{ cursor: string | undefined; seq: number }>({ cursor: undefined, seq: 0 });
  const [confirming, setConfirming] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>();
  const [done, setDone] = useState<string | undefined>();

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setLoadError(undefined);
    api.call(paymentRoutes.listMethods, { query: { limit: pageSize, ...(request.cursor ? { cursor: request.cursor } : {}) }, signal: controller.signal }).then(
      (page) => {
        if (controller.signal.aborted) return;
        setCards((shown) => (request.cursor ? appendPage(shown, page.items) : page.items));
        setCursor(page.nextCursor);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setLoadError(failure);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [request]);

  const reloadFirstPage = () => setRequest((earlier) => ({ cursor: undefined, seq: earlier.seq + 1 }));

  const act = async (work: () => Promise<string>) => {
    setBusy(true);
    setActionError(undefined);
    setDone(undefined);
    try {
      setDone(await work());
    } catch (failure) {
      setActionError(failure);
    } finally {
      setBusy(false);
    }
  };

  const remove = (card: SavedCard) =>
    act(async () => {
      await api.call(paymentRoutes.removeMethod, { params: { id: card.id } });
      setConfirming(undefined);
      setCards((shown) => withoutCard(shown, card.id));
      return format(t.payment.removed, { card: cardName(t, card) });
    });

  const add = (tokenize: () => Promise<string>) =>
    act(async () => {
      const cardToken = await tokenize();
      const card = await api.call(paymentRoutes.addMethod, { body: { cardToken } });
      reloadFirstPage();
      return format(t.payment.added, { card: cardName(t, card) });
    });

  const firstLoad = cursor === undefined;
  return (
    <section aria-labelledby="payment-title" className="card">
      <h1 id="payment-title">{t.payment.title}</h1>
      <h2 id="cards-title">{t.payment.cardsTitle}</h2>
      {!firstLoad && !loading && cards.length === 0 ? <p className="empty">{t.payment.empty}</p> : null}
      {cards.length > 0 ? (
        <ul className="car-list" aria-labelledby="cards-title" data-testid="saved-cards">
          {cards.map((card, index) => {
            const name = cardName(t, card);
            return (
              <li key={card.id}>
                <div className="car-link">
                  <span className="car-model">{name}</span>
                  <span className="car-meta">
                    {format(t.payment.expires, { expiry: formatExpiry(card.expMonth, card.expYear) })}
                    {index === 0 ? ` · ${t.payment.usedForTrips}` : ''}
                  </span>
                </div>
                {confirming === card.id ? (
                  <div role="group" aria-label={format(t.payment.removeLabel, { card: name })}>
                    <p>{format(t.payment.confirmRemove, { card: name })}</p>
                    <div className="actions">
                      <button type="button" className="button" disabled={busy} onClick={() => void remove(card)}>
                        {t.payment.confirmYes}
                      </button>
                      <button type="button" className="button secondary" disabled={busy} onClick={() => setConfirming(undefined)}>
                        {t.payment.confirmNo}
                      </button>
                    </div>
                  </div>
                ) : (
                  <button type="button" className="button secondary" aria-label={format(t.payment.removeLabel, { card: name })} onClick={() => setConfirming(card.id)}>
                    {t.payment.remove}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
      {loading ? <Loading /> : null}
      {loadError ? <ErrorNotice error={loadError} onRetry={() => setRequest((earlier) => ({ ...earlier, seq: earlier.seq + 1 }))} /> : null}
      {!loading && cursor ? (
        <button type="button" className="button secondary" onClick={() => setRequest((earlier) => ({ cursor, seq: earlier.seq + 1 }))}>
          {t.payment.loadMore}
        </button>
      ) : null}

      <h2>{t.payment.addTitle}</h2>
      <TestCardWidget busy={busy} onSubmit={(tokenize) => void add(tokenize)} />
      {actionError ? <ErrorNotice error={actionError} /> : null}
      <p role="status" aria-live="polite">
        {done ?? ''}
      </p>
    </section>
  );
}

/**
 * Stands for the processor's card widget: here the simulated processor's test cards to pick from.
 * It hands the screen a `tokenize` only, so a real widget replaces this component alone.
 */
function TestCardWidget({ busy, onSubmit }: { busy: boolean; onSubmit: (tokenize: () => Promise<string>) => void }) {
  const { t } = useI18n();
  const [picked, setPicked] = useState<TestCardToken>('tok_visa');
  const tokenizer = useMemo(() => testCardTokenizer(() => picked), [picked]);
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit(() => tokenizer.tokenize());
      }}
    >
      <fieldset>
        <legend>{t.payment.widgetLegend}</legend>
        <p className="small">{t.payment.widgetNote}</p>
        {testCardTokens.map((token) => (
          <div key={token}>
            <label>
              <input type="radio" name="test-card" value={token} checked={picked === token} onChange={() => setPicked(token)} /> {t.payment.testCards[token] ?? token}
            </label>
          </div>
        ))}
      </fieldset>
      <button type="submit" className="button" disabled={busy}>
        {busy ? t.payment.adding : t.payment.add}
      </button>
    </form>
  );
}
