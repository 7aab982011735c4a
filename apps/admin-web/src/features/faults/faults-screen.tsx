import { adminFaultRoutes, type RouteResponse } from '@carshare/contracts';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, Loading, StatusMessage } from '../../ui/error-notice.tsx';

type Faults = RouteResponse<typeof adminFaultRoutes.list>;
type FaultSwitch = Faults['items'][number];

/**
 * The gateway's fault switches for drills. The list is the gateway's fixed set of switches (a
 * handful, named in code), not a growing collection, so its contract has no cursor.
 */
export function FaultsScreen() {
  const session = useSession();
  const { t, formatDate } = useI18n();
  const [faults, setFaults] = useState<Faults | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);

  const reload = useCallback(() => {
    setError(undefined);
    session.call(adminFaultRoutes.list, {}).then(setFaults, setError);
  }, [session]);
  useEffect(reload, [reload]);

  return (
    <section aria-labelledby="faults-heading">
      <h1 id="faults-heading">{t('faults.heading')}</h1>
      <p className="notice notice-warning">{t('faults.warning')}</p>
      <StatusMessage text={status} />
      {error !== undefined && <ErrorNotice error={error} onRetry={reload} />}
      {!faults && error === undefined && <Loading />}
      {faults && faults.items.length === 0 && <p className="empty">{t('faults.empty')}</p>}
      {faults && faults.items.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">{t('faults.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('faults.col.name')}</th>
              <th scope="col">{t('faults.col.percent')}</th>
              <th scope="col">{t('faults.col.latency')}</th>
              <th scope="col">{t('faults.col.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {faults.items.map((fault) => (
              <FaultRow
                key={fault.name}
                fault={fault}
                onChanged={(changed) => {
                  setStatus(t('faults.changed', { name: changed.name, percent: changed.percent }));
                  reload();
                }}
              />
            ))}
          </tbody>
        </table>
      )}
      {faults && faults.recentChanges.length > 0 && (
        <>
          <h2>{t('faults.recent')}</h2>
          <ul className="history">
            {faults.recentChanges.map((change) => (
              <li key={`${change.at}-${change.name}`}>
                {formatDate(change.at)} · {change.by} · {change.name}: {change.old.percent} % → {change.new.percent} %
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function FaultRow({ fault, onChanged }: { fault: FaultSwitch; onChanged: (fault: FaultSwitch) => void }) {
  const session = useSession();
  const { t, formatDate } = useI18n();
  const [percent, setPercent] = useState(String(fault.percent));
  const [latencyMs, setLatencyMs] = useState(String(fault.latencyMs));
  const [error, setError] = useState<unknown>(undefined);

  async function set(nextPercent: number) {
    setError(undefined);
    try {
      const changed = await session.call(adminFaultRoutes.set, {
        params: { name: fault.name },
        body: { percent: nextPercent, ...(fault.carriesLatency ? { latencyMs: Number(latencyMs) } : {}) },
      });
      onChanged(changed);
    } catch (failure) {
      setError(failure);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void set(Number(percent));
  }

  const formId = `fault-${fault.name.replace(/[^a-z0-9]/gi, '-')}`;
  return (
    <tr className={fault.percent > 0 ? 'fault-on' : undefined}>
      <th scope="row">
        <code>{fault.name}</code>
        <div className="meta">{fault.description}</div>
        {error !== undefined && <ErrorNotice error={error} />}
      </th>
      <td>
        <form id={formId} onSubmit={submit} className="inline">
          <input aria-label={`${t('faults.col.percent')}: ${fault.name}`} type="number" min={0} max={100} step="any" value={percent} onChange={(event) => setPercent(event.target.value)} />
          <button type="submit">{t('faults.set')}</button>
          <button type="button" disabled={fault.percent === 0} onClick={() => void set(0)}>
            {t('faults.off')}
          </button>
        </form>
      </td>
      <td>
        {fault.carriesLatency ? (
          <input form={formId} aria-label={`${t('faults.col.latency')}: ${fault.name}`} type="number" min={0} max={60000} value={latencyMs} onChange={(event) => setLatencyMs(event.target.value)} />
        ) : (
          t('common.none')
        )}
      </td>
      <td>
        {formatDate(fault.updatedAt)} {fault.updatedBy ?? ''}
      </td>
    </tr>
  );
}
