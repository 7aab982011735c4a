import { useState, type FormEvent } from 'react';
import type { ConsoleSession, SignedInUser } from '../../api/console-session.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice } from '../../ui/error-notice.tsx';

/** Operator sign-in. A rider who signs in here is told the console is not for them and signed out. */
export function LoginScreen({ session, rider }: { session: ConsoleSession; rider: SignedInUser | undefined }) {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const sessionEnded = session.lastEndReason === 'expired' || session.lastEndReason === 'revoked';
  const [notStaff, setNotStaff] = useState<string | undefined>(rider?.email);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setNotStaff(undefined);
    try {
      const user = await session.login(email, password);
      if (user.role === 'rider') {
        setNotStaff(user.email);
        await session.logout();
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login" id="main">
      <h1>{t('app.title')}</h1>
      <form onSubmit={(event) => void submit(event)} aria-labelledby="login-heading">
        <h2 id="login-heading">{t('login.heading')}</h2>
        <label>
          {t('login.email')}
          <input type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(event) => setEmail(event.target.value)} />
        </label>
        <label>
          {t('login.password')}
          <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? t('login.submitting') : t('login.submit')}
        </button>
        {notStaff && (
          <p className="notice notice-error" role="alert">
            {t('login.notStaff', { email: notStaff })}
          </p>
        )}
        {error === undefined && sessionEnded && (
          <p className="notice notice-error" role="alert">
            {t('login.sessionEnded')}
          </p>
        )}
        {error !== undefined && <ErrorNotice error={error} />}
      </form>
    </main>
  );
}
