import { meRoutes } from '@carshare/contracts';
import type { SessionEndReason } from '@carshare/web-client';
import { lazy, Suspense, useEffect, useState } from 'react';
import { LoginScreen, RegisterScreen, VerifyEmailScreen, linkTo, type SignedInUser } from '../features/auth/auth-screens.tsx';
import { CarScreen } from '../features/cars/car-screen.tsx';
import { MapScreen } from '../features/map/map-screen.tsx';
import { HistoryScreen } from '../features/trip/history-screen.tsx';
import { ReceiptScreen } from '../features/trip/receipt-screen.tsx';
import { CurrentTripScreen, TripScreen } from '../features/trip/trip-screen.tsx';
import { LicenceScreen } from '../features/verification/licence-screen.tsx';
import { useI18n } from '../i18n/i18n.tsx';
import { languages, type Language } from '../i18n/messages.ts';
import { ErrorNotice, Loading } from '../ui/error-notice.tsx';
import { api } from './api.ts';
import { navigate, useLocation } from './router.ts';

// Visited once in a while (to add a card), so it stays out of the first load.
const PaymentScreen = lazy(() => import('../features/payment/payment-screen.tsx').then((module) => ({ default: module.PaymentScreen })));

type Session = { state: 'checking' } | { state: 'signed-out'; ended?: SessionEndReason } | { state: 'signed-in'; user: SignedInUser } | { state: 'failed'; error: unknown };

export function App() {
  const { t } = useI18n();
  const location = useLocation();
  const [session, setSession] = useState<Session>(() => (api.hasSession() ? { state: 'checking' } : { state: 'signed-out' }));

  useEffect(() => api.onSessionEnd((reason) => setSession({ state: 'signed-out', ended: reason })), []);
  useEffect(() => {
    if (session.state !== 'checking') return;
    // Tokens from an earlier visit: who they belong to (and whether they still work).
    api.call(meRoutes.me, {}).then(
      // `user` is null when the account could not be read just now (a degraded answer): retry later.
      (answer) => setSession(answer.user ? { state: 'signed-in', user: answer.user } : { state: 'failed', error: new Error('USER_UNAVAILABLE') }),
      (error: unknown) => setSession(api.hasSession() ? { state: 'failed', error } : { state: 'signed-out' }),
    );
  }, [session.state]);

  const publicScreen = publicScreenFor(location.path, location.query);
  let content;
  if (publicScreen) content = publicScreen;
  else if (session.state === 'checking') content = <Loading />;
  else if (session.state === 'failed') content = <ErrorNotice error={session.error} onRetry={() => setSession({ state: 'checking' })} />;
  else if (session.state === 'signed-out') {
    const notice = session.ended === 'expired' ? t.auth.sessionExpired : session.ended === 'revoked' ? t.auth.sessionRevoked : undefined;
    content = (
      <LoginScreen
        notice={notice}
        onLoggedIn={(user) => {
          setSession({ state: 'signed-in', user });
          if (location.path === '/login') navigate('/', { replace: true });
        }}
      />
    );
  } else content = signedInScreen(location.path);

  return (
    <>
      <a className="skip-link" href="#main">
        {t.nav.skip}
      </a>
      <header className="top">
        <a href="/" className="brand" onClick={(event) => linkTo(event, '/')}>
          {t.appName}
        </a>
        {/* Shown while saved tokens are checked too: the nav appearing later pushed the whole screen down (CLS 0.107). */}
        {session.state === 'signed-in' || session.state === 'checking' ? (
          <nav aria-label={t.nav.label}>
            <a href="/" aria-current={location.path === '/' ? 'page' : undefined} onClick={(event) => linkTo(event, '/')}>
              {t.nav.map}
            </a>
            <a href="/licence" aria-current={location.path === '/licence' ? 'page' : undefined} onClick={(event) => linkTo(event, '/licence')}>
              {t.nav.licence}
            </a>
            <a href="/trip" aria-current={location.path === '/trip' || /^\/trips\/[^/]+$/.test(location.path) ? 'page' : undefined} onClick={(event) => linkTo(event, '/trip')}>
              {t.nav.trip}
            </a>
            <a href="/trips" aria-current={location.path === '/trips' || location.path.endsWith('/receipt') ? 'page' : undefined} onClick={(event) => linkTo(event, '/trips')}>
              {t.nav.history}
            </a>
            <a href="/payment" aria-current={location.path === '/payment' ? 'page' : undefined} onClick={(event) => linkTo(event, '/payment')}>
              {t.nav.payment}
            </a>
            <button type="button" className="link-button" onClick={() => void api.logOut()}>
              {t.nav.logout}
            </button>
          </nav>
        ) : null}
        <LanguagePicker />
      </header>
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </>
  );
}

function publicScreenFor(path: string, query: URLSearchParams) {
  if (path === '/register') return <RegisterScreen />;
  if (path === '/verify-email') return <VerifyEmailScreen token={query.get('token') ?? ''} />;
  return undefined;
}

function signedInScreen(path: string) {
  const car = /^\/cars\/([^/]+)$/.exec(path);
  if (car?.[1]) return <CarScreen carId={decodeURIComponent(car[1])} />;
  const receipt = /^\/trips\/([^/]+)\/receipt$/.exec(path);
  if (receipt?.[1]) return <ReceiptScreen tripId={decodeURIComponent(receipt[1])} />;
  const trip = /^\/trips\/([^/]+)$/.exec(path);
  if (trip?.[1]) return <TripScreen key={trip[1]} tripId={decodeURIComponent(trip[1])} />;
  if (path === '/trips') return <HistoryScreen />;
  if (path === '/trip') return <CurrentTripScreen />;
  if (path === '/licence') return <LicenceScreen />;
  if (path === '/payment')
    return (
      <Suspense fallback={<Loading />}>
        <PaymentScreen />
      </Suspense>
    );
  return <MapScreen />;
}

function LanguagePicker() {
  const { t, language, setLanguage } = useI18n();
  return (
    <label className="language">
      <span className="visually-hidden">{t.nav.language}</span>
      <select value={language} onChange={(event) => setLanguage(event.target.value as Language)} aria-label={t.nav.language}>
        {Object.keys(languages).map((code) => (
          <option key={code} value={code}>
            {code.toUpperCase()}
          </option>
        ))}
      </select>
    </label>
  );
}
