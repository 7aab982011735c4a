import {
  adminDeadLetterRoutes,
  analyticsRpc,
  blobRpc,
  carRpc,
  deadLetterRpcMethods,
  paymentRpc,
  profileRpc,
  tripRpc,
  userRpc,
  type DeadLetterRecord,
} from '@carshare/contracts';
import { useCallback, useMemo, useState } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, StatusMessage } from '../../ui/error-notice.tsx';
import { PageStates, Pager } from '../../ui/pager.tsx';
import { useCursorPages } from '@carshare/web-client/use-cursor-pages';

/**
 * The services whose consumers keep dead letters: those whose RPC contract carries the
 * dead-letter methods, the gateway's own rule. A deployment without one of them answers 400 for
 * it, which the screen shows.
 */
const deadLetterServices: readonly string[] = [userRpc, carRpc, profileRpc, blobRpc, paymentRpc, tripRpc, analyticsRpc]
  .filter((rpc) => Object.keys(deadLetterRpcMethods).every((method) => method in rpc.methods))
  .map((rpc) => rpc.service);

/** Events a consumer gave up on: read the event and its error, then replay it to that group. */
export function DeadLettersScreen() {
  const session = useSession();
  const { t, formatDate } = useI18n();
  const [service, setService] = useState<string>(deadLetterServices[0] ?? 'user');
  const [group, setGroup] = useState('');
  const [topic, setTopic] = useState('');
  const [applied, setApplied] = useState({ group: '', topic: '' });
  const [open, setOpen] = useState<DeadLetterRecord | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);

  const load = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      session.call(adminDeadLetterRoutes.list, {
        query: { service, limit: 20, ...(applied.group ? { group: applied.group } : {}), ...(applied.topic ? { topic: applied.topic } : {}), ...(cursor ? { cursor } : {}) },
        signal,
      }),
    [session, service, applied],
  );
  const pages = useCursorPages<DeadLetterRecord>(useMemo(() => JSON.stringify({ service, applied }), [service, applied]), load);

  async function replay(record: DeadLetterRecord) {
    setActionError(undefined);
    try {
      await session.call(adminDeadLetterRoutes.replay, { params: { id: record.id } });
      setStatus(t('deadLetters.replayed', { group: record.group }));
      setOpen(undefined);
      pages.reload();
    } catch (error) {
      setActionError(error);
    }
  }

  return (
    <section aria-labelledby="dead-letters-heading">
      <h1 id="dead-letters-heading">{t('deadLetters.heading')}</h1>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied({ group: group.trim(), topic: topic.trim() });
        }}
      >
        <label>
          {t('deadLetters.service')}
          <select value={service} onChange={(event) => setService(event.target.value)}>
            {deadLetterServices.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('deadLetters.group')}
          <input maxLength={100} value={group} onChange={(event) => setGroup(event.target.value)} />
        </label>
        <label>
          {t('deadLetters.topic')}
          <input maxLength={200} placeholder="trip.*" value={topic} onChange={(event) => setTopic(event.target.value)} />
        </label>
        <button type="submit">{t('common.apply')}</button>
      </form>
      <StatusMessage text={status} />
      {actionError !== undefined && <ErrorNotice error={actionError} />}
      <PageStates pages={pages} empty={t('deadLetters.empty')} />
      {pages.items.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">{t('deadLetters.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('deadLetters.col.type')}</th>
              <th scope="col">{t('deadLetters.col.group')}</th>
              <th scope="col">{t('deadLetters.col.error')}</th>
              <th scope="col">{t('deadLetters.col.attempts')}</th>
              <th scope="col">{t('deadLetters.col.failedAt')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((record) => (
              <tr key={record.id}>
                <th scope="row">{record.event.type}</th>
                <td>{record.group}</td>
                <td>{record.error.code ?? record.error.name}: {record.error.message}</td>
                <td>{record.attempts}</td>
                <td>{formatDate(record.failedAt)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setOpen(record)} aria-label={`${t('deadLetters.inspect')} ${record.event.type}`}>
                    {t('deadLetters.inspect')}
                  </button>
                  <button type="button" onClick={() => void replay(record)} aria-label={`${t('deadLetters.replay')} ${record.event.type}`}>
                    {t('deadLetters.replay')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} label={t('deadLetters.heading')} />
      {open && (
        <section className="panel" aria-labelledby="dead-letter-detail">
          <h2 id="dead-letter-detail">
            {open.event.type} · {open.group}
          </h2>
          <h3>{t('deadLetters.col.error')}</h3>
          <pre tabIndex={0}>{JSON.stringify(open.error, null, 2)}</pre>
          <h3>{t('deadLetters.event')}</h3>
          <pre tabIndex={0}>{JSON.stringify(open.event, null, 2)}</pre>
          <div className="buttons">
            <button type="button" onClick={() => void replay(open)}>
              {t('deadLetters.replay')}
            </button>
            <button type="button" onClick={() => setOpen(undefined)}>
              {t('common.close')}
            </button>
          </div>
        </section>
      )}
    </section>
  );
}
