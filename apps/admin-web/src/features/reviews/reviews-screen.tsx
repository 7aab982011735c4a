import { adminReviewRoutes, type FieldNote, type LicenceField, type RejectionReason } from '@carshare/contracts';
import type { RouteResponse } from '@carshare/contracts';
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { StringKey } from '../../i18n/strings.ts';
import { ErrorNotice, FormFooter, Loading, StatusMessage } from '../../ui/error-notice.tsx';
import { PageStates, Pager } from '../../ui/pager.tsx';
import { useCursorPages } from '@carshare/web-client/use-cursor-pages';

type QueueItem = RouteResponse<typeof adminReviewRoutes.queue>['items'][number];
type ReviewCase = RouteResponse<typeof adminReviewRoutes.get>;
type QueueStatus = 'pending' | 'verified' | 'rejected';

const licenceFields: readonly LicenceField[] = ['licenceNumber', 'surname', 'givenNames', 'birthDate', 'classes', 'issuedOn', 'expiresOn', 'issuingCountry'];
const rejectionReasons: readonly RejectionReason[] = [
  'photo_unreadable',
  'fields_do_not_match',
  'licence_expired',
  'selfie_does_not_match',
  'underage',
  'document_not_accepted',
  'suspected_forgery',
  'other',
];
const photoKinds = ['licenceFront', 'licenceBack', 'selfie'] as const;

/** Keys typed into a form field are the operator's text, never a shortcut. */
function typingInField(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

/**
 * The licence review queue: photos beside the OCR reading with every mismatch marked, approve or
 * reject with a reason. Built to be worked through by keyboard: J/K move through the queue, A and
 * R open the decision with its first field focused, Enter submits, Esc goes back.
 */
export function ReviewsScreen() {
  const session = useSession();
  const { t, formatDate } = useI18n();
  const [queueStatus, setQueueStatus] = useState<QueueStatus>('pending');
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [decision, setDecision] = useState<'approve' | 'reject' | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const queueRef = useRef<HTMLOListElement>(null);

  const load = useCallback(
    (cursor: string | undefined, signal: AbortSignal) => session.call(adminReviewRoutes.queue, { query: { limit: 20, status: queueStatus, ...(cursor ? { cursor } : {}) }, signal }),
    [session, queueStatus],
  );
  const pages = useCursorPages<QueueItem>(queueStatus, load);
  const items = pages.items;
  const index = items.findIndex((item) => item.userId === selected);

  const move = useCallback(
    (step: number) => {
      if (items.length === 0) return;
      const next = items[Math.min(items.length - 1, Math.max(0, (index < 0 ? (step > 0 ? -1 : items.length) : index) + step))];
      if (!next) return;
      setSelected(next.userId);
      setDecision(undefined);
      queueRef.current?.querySelector<HTMLButtonElement>(`[data-user-id="${next.userId}"]`)?.focus();
    },
    [items, index],
  );

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.key === 'Escape') {
        if (decision) setDecision(undefined);
        else queueRef.current?.querySelector<HTMLButtonElement>('[aria-current="true"], button')?.focus();
        return;
      }
      if (typingInField(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
      const key = event.key.toLowerCase();
      if (key === 'j') move(1);
      else if (key === 'k') move(-1);
      else if (key === 'a' && selected && queueStatus === 'pending') setDecision('approve');
      else if (key === 'r' && selected && queueStatus === 'pending') setDecision('reject');
      else return;
      event.preventDefault();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [move, selected, decision, queueStatus]);

  function decided(message: string) {
    setStatus(message);
    setDecision(undefined);
    // The next submission takes the decided one's place: the operator keeps going with J/A/R.
    const following = items[index + 1] ?? items[index - 1];
    setSelected(following?.userId);
    pages.reload();
  }

  return (
    <section aria-labelledby="reviews-heading" className="reviews">
      <h1 id="reviews-heading">{t('reviews.heading')}</h1>
      <p className="hint" id="review-shortcuts">
        {t('reviews.shortcuts')}
      </p>
      <StatusMessage text={status} />
      <div className="review-layout">
        <div className="queue">
          <label>
            {t('reviews.filter')}
            <select
              value={queueStatus}
              onChange={(event) => {
                setQueueStatus(event.target.value as QueueStatus);
                setSelected(undefined);
              }}
            >
              {(['pending', 'verified', 'rejected'] as const).map((value) => (
                <option key={value} value={value}>
                  {t(`reviews.status.${value}`)}
                </option>
              ))}
            </select>
          </label>
          <PageStates pages={pages} empty={t('reviews.empty')} itemCount={items.length} />
          <ol ref={queueRef} className="queue-list" aria-label={t('reviews.heading')} aria-describedby="review-shortcuts">
            {items.map((item) => (
              <li key={item.userId}>
                <button
                  type="button"
                  data-user-id={item.userId}
                  aria-current={item.userId === selected ? 'true' : undefined}
                  onClick={() => {
                    setSelected(item.userId);
                    setDecision(undefined);
                  }}
                >
                  <span className="name">
                    {item.surname}, {item.givenNames}
                  </span>
                  <span className="meta">
                    {t('reviews.submitted', { at: formatDate(item.submittedAt) })} ·{' '}
                    {item.ocrState === 'waiting' ? t('reviews.ocrWaiting') : t('reviews.problems', { count: item.problemCount })}
                  </span>
                </button>
              </li>
            ))}
          </ol>
          <Pager pages={pages} label={t('reviews.heading')} />
        </div>
        <div className="case">
          {selected ? (
            <ReviewCaseView key={selected} userId={selected} decision={queueStatus === 'pending' ? decision : undefined} onDecision={setDecision} onDecided={decided} />
          ) : (
            <p className="empty">{t('reviews.pick')}</p>
          )}
        </div>
      </div>
    </section>
  );
}

function ReviewCaseView({
  userId,
  decision,
  onDecision,
  onDecided,
}: {
  userId: string;
  decision: 'approve' | 'reject' | undefined;
  onDecision: (decision: 'approve' | 'reject' | undefined) => void;
  onDecided: (message: string) => void;
}) {
  const session = useSession();
  const { t, formatDate } = useI18n();
  const [review, setReview] = useState<ReviewCase | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setError(undefined);
    session.call(adminReviewRoutes.get, { params: { userId }, signal: controller.signal }).then(
      (answer) => !controller.signal.aborted && setReview(answer),
      (failure: unknown) => !controller.signal.aborted && setError(failure),
    );
    return () => controller.abort();
  }, [session, userId, attempt]);

  const problems = useMemo(() => new Map((review?.ocr.problems ?? []).map((problem) => [problem.field, problem])), [review]);

  if (error !== undefined) return <ErrorNotice error={error} onRetry={() => setAttempt((value) => value + 1)} />;
  if (!review) return <Loading />;
  const { profile, ocr, photoUrls } = review;
  const name = profile.fields ? `${profile.fields.givenNames} ${profile.fields.surname}` : userId;
  const pending = profile.status === 'pending';

  return (
    <article aria-labelledby="case-heading">
      <h2 id="case-heading">
        {name} <span className={`profile-status profile-${profile.status}`}>{t(`reviews.status.${profile.status}`)}</span>
      </h2>
      <div className="case-body">
        <section aria-label={t('reviews.photos')} className="photos">
          {photoKinds.map((kind) => {
            const photo = photoUrls[kind];
            return (
              <figure key={kind}>
                {photo ? <img src={photo.url} alt={`${t(`reviews.photo.${kind}`)}: ${name}`} /> : <div className="no-photo">{t('reviews.photoMissing')}</div>}
                <figcaption>{t(`reviews.photo.${kind}`)}</figcaption>
              </figure>
            );
          })}
        </section>
        <table className="data compare">
          <caption>{ocr.state === 'waiting' ? `${t('reviews.compare')} (${t('reviews.ocrWaiting')})` : t('reviews.compare')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('reviews.col.field')}</th>
              <th scope="col">{t('reviews.col.entered')}</th>
              <th scope="col">{t('reviews.col.read')}</th>
              <th scope="col">{t('reviews.col.problem')}</th>
            </tr>
          </thead>
          <tbody>
            {licenceFields.map((field) => {
              const entered = profile.fields ? profile.fields[field] : undefined;
              const problem = problems.get(field);
              const read = ocr.reading?.[field] ?? null;
              return (
                <tr key={field} className={problem ? 'mismatch' : undefined} data-field={field}>
                  <th scope="row">{t(`reviews.field.${field}`)}</th>
                  <td>{Array.isArray(entered) ? entered.join(', ') : (entered ?? t('common.none'))}</td>
                  <td>{read ?? t('common.none')}</td>
                  <td>{problem ? <strong className="problem">⚠ {t(`reviews.problem.${problem.problem}` as StringKey)}</strong> : t('common.none')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      {pending && (
        <div className="buttons decision-buttons">
          <button type="button" aria-keyshortcuts="A" onClick={() => onDecision('approve')}>
            {t('reviews.approve')}
          </button>
          <button type="button" aria-keyshortcuts="R" onClick={() => onDecision('reject')}>
            {t('reviews.reject')}
          </button>
        </div>
      )}
      {pending && decision === 'approve' && <ApproveForm userId={userId} onCancel={() => onDecision(undefined)} onDone={(status) => onDecided(t('reviews.decided', { name, status }))} />}
      {pending && decision === 'reject' && (
        <RejectForm userId={userId} problemFields={[...problems.keys()]} onCancel={() => onDecision(undefined)} onDone={(status) => onDecided(t('reviews.decided', { name, status }))} />
      )}

      <section aria-labelledby="history-heading">
        <h3 id="history-heading">{t('reviews.history')}</h3>
        <ol className="history">
          {review.history.map((entry) => (
            <li key={entry.id}>
              {formatDate(entry.at)} · {entry.action} · {entry.actorKind}
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}

function ApproveForm({ userId, onCancel, onDone }: { userId: string; onCancel: () => void; onDone: (status: string) => void }) {
  const session = useSession();
  const { t } = useI18n();
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const profile = await session.call(adminReviewRoutes.approve, { params: { userId }, body: { note: note.trim() } });
      onDone(t(`reviews.status.${profile.status}`));
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <form className="panel" aria-labelledby={id} onSubmit={(event) => void submit(event)}>
      <h3 id={id}>{t('reviews.approve')}</h3>
      <label>
        {t('reviews.note')}
        <input autoFocus maxLength={1000} value={note} onChange={(event) => setNote(event.target.value)} />
      </label>
      <FormFooter error={error} busy={busy} submitLabel={t('reviews.approve')} onCancel={onCancel} />
    </form>
  );
}

function RejectForm({ userId, problemFields, onCancel, onDone }: { userId: string; problemFields: LicenceField[]; onCancel: () => void; onDone: (status: string) => void }) {
  const session = useSession();
  const { t } = useI18n();
  const [reason, setReason] = useState<RejectionReason>(problemFields.length > 0 ? 'fields_do_not_match' : 'photo_unreadable');
  const [text, setText] = useState('');
  const [notes, setNotes] = useState<Partial<Record<LicenceField, string>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const fieldNotes: FieldNote[] = Object.entries(notes)
      .filter(([, note]) => note && note.trim())
      .map(([field, note]) => ({ field: field as LicenceField, note: (note ?? '').trim() }));
    try {
      const profile = await session.call(adminReviewRoutes.reject, { params: { userId }, body: { reason, text: text.trim(), fieldNotes } });
      onDone(t(`reviews.status.${profile.status}`));
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <form className="panel" aria-labelledby={id} onSubmit={(event) => void submit(event)}>
      <h3 id={id}>{t('reviews.confirmReject')}</h3>
      <label>
        {t('reviews.reason')}
        <select autoFocus value={reason} onChange={(event) => setReason(event.target.value as RejectionReason)}>
          {rejectionReasons.map((value) => (
            <option key={value} value={value}>
              {t(`reviews.reason.${value}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('reviews.reasonText')}
        <input maxLength={1000} value={text} onChange={(event) => setText(event.target.value)} />
      </label>
      {problemFields.map((field) => (
        <label key={field}>
          {t(`reviews.field.${field}`)}
          <input maxLength={500} value={notes[field] ?? ''} onChange={(event) => setNotes((current) => ({ ...current, [field]: event.target.value }))} />
        </label>
      ))}
      <FormFooter error={error} busy={busy} submitLabel={t('reviews.confirmReject')} onCancel={onCancel} />
    </form>
  );
}
