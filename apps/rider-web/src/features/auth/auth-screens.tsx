import { authRoutes } from '@carshare/contracts';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../app/api.ts';
import { navigate } from '../../app/router.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';

export type SignedInUser = Awaited<ReturnType<typeof api.logIn>>['user'];

export function LoginScreen({ onLoggedIn, notice }: { onLoggedIn: (user: SignedInUser) => void; notice?: string | undefined }) {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await api.logIn({ email, password });
      onLoggedIn(session.user);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card narrow" aria-labelledby="login-title">
      <h1 id="login-title">{t.auth.loginTitle}</h1>
      {notice ? (
        <p className="notice notice-info" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={(event) => void submit(event)} noValidate={false}>
        <label htmlFor="login-email">{t.auth.email}</label>
        <input id="login-email" name="email" type="email" autoComplete="username" required value={email} onChange={(event) => setEmail(event.target.value)} />
        <label htmlFor="login-password">{t.auth.password}</label>
        <input id="login-password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
        {error ? <ErrorNotice error={error} /> : null}
        <button type="submit" className="button" disabled={busy}>
          {t.auth.logIn}
        </button>
      </form>
      <p>
        <a href="/register" onClick={(event) => linkTo(event, '/register')}>
          {t.auth.toRegister}
        </a>
      </p>
    </section>
  );
}

export function RegisterScreen() {
  const { t, format } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [sentTo, setSentTo] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // 202 and the same answer whether or not the address is taken (ADR 0017): the mail says which.
      await api.call(authRoutes.register, { body: { email, password, displayName } });
      setSentTo(email);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  if (sentTo) {
    return (
      <section className="card narrow" aria-labelledby="mail-title">
        <h1 id="mail-title">{t.auth.checkMailTitle}</h1>
        <p role="status">{format(t.auth.checkMail, { email: sentTo })}</p>
        <p>
          <a href="/login" onClick={(event) => linkTo(event, '/login')}>
            {t.auth.toLogin}
          </a>
        </p>
      </section>
    );
  }

  return (
    <section className="card narrow" aria-labelledby="register-title">
      <h1 id="register-title">{t.auth.registerTitle}</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="register-name">{t.auth.displayName}</label>
        <input id="register-name" name="displayName" autoComplete="name" required maxLength={80} value={displayName} onChange={(event) => setDisplayName(event.target.value)} />
        <label htmlFor="register-email">{t.auth.email}</label>
        <input id="register-email" name="email" type="email" autoComplete="email" required value={email} onChange={(event) => setEmail(event.target.value)} />
        <label htmlFor="register-password">{t.auth.password}</label>
        <input
          id="register-password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={12}
          aria-describedby="register-password-hint"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <p id="register-password-hint" className="small">
          {t.auth.passwordHint}
        </p>
        {error ? <ErrorNotice error={error} /> : null}
        <button type="submit" className="button" disabled={busy}>
          {t.auth.register}
        </button>
      </form>
      <p>
        <a href="/login" onClick={(event) => linkTo(event, '/login')}>
          {t.auth.toLogin}
        </a>
      </p>
    </section>
  );
}

/** The link in the verification mail lands here (USER_LINK_BASE_URL/verify-email?token=…). */
export function VerifyEmailScreen({ token }: { token: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<{ done: boolean; error?: unknown }>({ done: false });
  useEffect(() => {
    const controller = new AbortController();
    api.call(authRoutes.verifyEmail, { body: { token }, signal: controller.signal }).then(
      () => setState({ done: true }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ done: true, error });
      },
    );
    return () => controller.abort();
  }, [token]);
  return (
    <section className="card narrow" aria-labelledby="verify-title">
      <h1 id="verify-title">{t.auth.checkMailTitle}</h1>
      {!state.done ? <Loading label={t.auth.verifying} /> : state.error ? <ErrorNotice error={state.error} /> : <p role="status">{t.auth.verified}</p>}
      <p>
        <a href="/login" onClick={(event) => linkTo(event, '/login')}>
          {t.auth.toLogin}
        </a>
      </p>
    </section>
  );
}

/** In-app navigation for a real link (it still works opened in a new tab). */
export function linkTo(event: { preventDefault(): void; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean }, to: string): void {
  if (event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(to);
}
