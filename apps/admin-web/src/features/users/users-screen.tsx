import { adminUserRoutes, type RouteResponse } from '@carshare/contracts';
import { useCallback, useId, useMemo, useState, useSyncExternalStore, type FormEvent } from 'react';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { StringKey } from '../../i18n/strings.ts';
import { ErrorNotice, StatusMessage } from '../../ui/error-notice.tsx';
import { PageStates, Pager } from '../../ui/pager.tsx';
import { useCursorPages } from '@carshare/web-client/use-cursor-pages';

type User = RouteResponse<typeof adminUserRoutes.get>;
type Role = User['role'];
type Status = User['status'];
const roles: readonly Role[] = ['rider', 'operator', 'admin'];
const statuses: readonly Status[] = ['active', 'suspended'];
const roleLabel = (role: Role): StringKey => `users.role.${role}`;
const statusLabel = (status: Status): StringKey => `users.status.${status}`;

/** Accounts: search, suspend with a reason, reactivate, and (admins only) change a role. */
export function UsersScreen() {
  const session = useSession();
  const me = useSyncExternalStore(session.subscribe, session.snapshot);
  const { t, formatDate } = useI18n();
  const [searchText, setSearchText] = useState('');
  const [filters, setFilters] = useState<{ search: string; role: Role | ''; status: Status | '' }>({ search: '', role: '', status: '' });
  const [suspending, setSuspending] = useState<User | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);

  const load = useCallback(
    (cursor: string | undefined, signal: AbortSignal) =>
      session.call(adminUserRoutes.list, {
        query: {
          limit: 20,
          ...(cursor ? { cursor } : {}),
          ...(filters.search ? { search: filters.search } : {}),
          ...(filters.role ? { role: filters.role } : {}),
          ...(filters.status ? { status: filters.status } : {}),
        },
        signal,
      }),
    [session, filters],
  );
  const pages = useCursorPages<User>(useMemo(() => JSON.stringify(filters), [filters]), load);

  async function act(action: () => Promise<User>, message: (user: User) => string) {
    setActionError(undefined);
    try {
      const user = await action();
      setStatus(message(user));
      pages.reload();
    } catch (error) {
      setActionError(error);
    }
  }

  return (
    <section aria-labelledby="users-heading">
      <h1 id="users-heading">{t('users.heading')}</h1>
      <form
        className="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters((current) => ({ ...current, search: searchText.trim() }));
        }}
      >
        <label>
          {t('users.search')}
          <input type="search" maxLength={100} value={searchText} onChange={(event) => setSearchText(event.target.value)} />
        </label>
        <button type="submit">{t('common.apply')}</button>
        <label>
          {t('users.filter.role')}
          <select value={filters.role} onChange={(event) => setFilters((current) => ({ ...current, role: event.target.value as Role | '' }))}>
            <option value="">{t('common.any')}</option>
            {roles.map((role) => (
              <option key={role} value={role}>
                {t(roleLabel(role))}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('users.filter.status')}
          <select value={filters.status} onChange={(event) => setFilters((current) => ({ ...current, status: event.target.value as Status | '' }))}>
            <option value="">{t('common.any')}</option>
            {statuses.map((value) => (
              <option key={value} value={value}>
                {t(statusLabel(value))}
              </option>
            ))}
          </select>
        </label>
      </form>

      {suspending && (
        <SuspendForm
          user={suspending}
          onCancel={() => setSuspending(undefined)}
          onSubmit={(reason) => {
            const user = suspending;
            setSuspending(undefined);
            void act(
              () => session.call(adminUserRoutes.suspend, { params: { id: user.id }, body: { reason } }),
              (updated) => t('users.done', { name: updated.displayName, status: t(statusLabel(updated.status)) }),
            );
          }}
        />
      )}
      <StatusMessage text={status} />
      {actionError !== undefined && <ErrorNotice error={actionError} />}
      <PageStates pages={pages} empty={t('users.empty')} />
      {pages.items.length > 0 && (
        <table className="data">
          <caption className="visually-hidden">{t('users.heading')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('users.col.name')}</th>
              <th scope="col">{t('users.col.email')}</th>
              <th scope="col">{t('users.col.role')}</th>
              <th scope="col">{t('users.col.status')}</th>
              <th scope="col">{t('users.col.created')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((user) => (
              <tr key={user.id} data-user-email={user.email}>
                <th scope="row">{user.displayName}</th>
                <td>{user.email}</td>
                <td>
                  {me?.role === 'admin' && me.id !== user.id ? (
                    <select
                      aria-label={`${t('users.setRole')}: ${user.displayName}`}
                      value={user.role}
                      onChange={(event) => {
                        const role = event.target.value as Role;
                        void act(
                          () => session.call(adminUserRoutes.setRole, { params: { id: user.id }, body: { role } }),
                          (updated) => t('users.roleDone', { name: updated.displayName, role: t(roleLabel(updated.role)) }),
                        );
                      }}
                    >
                      {roles.map((role) => (
                        <option key={role} value={role}>
                          {t(roleLabel(role))}
                        </option>
                      ))}
                    </select>
                  ) : (
                    t(roleLabel(user.role))
                  )}
                </td>
                <td>
                  <span className={`user-status user-${user.status}`}>{t(statusLabel(user.status))}</span>
                  {user.suspendedReason && <span className="reason"> — {user.suspendedReason}</span>}
                </td>
                <td>{formatDate(user.createdAt)}</td>
                <td className="actions">
                  {user.status === 'active' ? (
                    <button type="button" disabled={me?.id === user.id} onClick={() => setSuspending(user)} aria-label={`${t('users.suspend')} ${user.displayName}`}>
                      {t('users.suspend')}
                    </button>
                  ) : (
                    <button
                      type="button"
                      aria-label={`${t('users.reactivate')} ${user.displayName}`}
                      onClick={() =>
                        void act(
                          () => session.call(adminUserRoutes.reactivate, { params: { id: user.id } }),
                          (updated) => t('users.done', { name: updated.displayName, status: t(statusLabel(updated.status)) }),
                        )
                      }
                    >
                      {t('users.reactivate')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} label={t('users.heading')} />
    </section>
  );
}

function SuspendForm({ user, onCancel, onSubmit }: { user: User; onCancel: () => void; onSubmit: (reason: string) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const id = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    if (reason.trim()) onSubmit(reason.trim());
  }
  return (
    <form className="panel" aria-labelledby={id} onSubmit={submit}>
      <h2 id={id}>{t('users.confirmSuspend', { name: user.displayName })}</h2>
      <label>
        {t('users.suspendReason', { name: user.displayName })}
        <textarea required maxLength={500} autoFocus value={reason} onChange={(event) => setReason(event.target.value)} />
      </label>
      <div className="buttons">
        <button type="submit">{t('users.confirmSuspendButton')}</button>
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
