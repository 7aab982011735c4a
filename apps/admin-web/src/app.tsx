import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from 'react';
import type { ConsoleSession } from './api/console-session.ts';
import { SessionContext, useSession } from './api/session-context.tsx';
import { CarsScreen } from './features/cars/cars-screen.tsx';
import { DeadLettersScreen } from './features/dead-letters/dead-letters-screen.tsx';
import { FaultsScreen } from './features/faults/faults-screen.tsx';
import { FeesScreen } from './features/fees/fees-screen.tsx';
import { LoginScreen } from './features/login/login-screen.tsx';
import { ReviewsScreen } from './features/reviews/reviews-screen.tsx';
import { TripsScreen } from './features/trips/trips-screen.tsx';
import { UsersScreen } from './features/users/users-screen.tsx';
import { I18nProvider, languages, useI18n, type Language } from './i18n/i18n.tsx';
import { screenFromHash, screens, type ScreenId } from './routes.ts';
import { Loading } from './ui/error-notice.tsx';

// maplibre-gl and uPlot are most of the console's weight: their screens load them on first visit.
const LiveMapScreen = lazy(async () => ({ default: (await import('./features/map/live-map-screen.tsx')).LiveMapScreen }));
const StatsScreen = lazy(async () => ({ default: (await import('./features/stats/stats-screen.tsx')).StatsScreen }));

export function App({ session }: { session: ConsoleSession }) {
  return (
    <I18nProvider>
      <SessionContext.Provider value={session}>
        <Console session={session} />
      </SessionContext.Provider>
    </I18nProvider>
  );
}

function useScreen(): ScreenId {
  const [screen, setScreen] = useState(() => screenFromHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setScreen(screenFromHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return screen;
}

function Console({ session }: { session: ConsoleSession }) {
  const user = useSyncExternalStore(session.subscribe, session.snapshot);
  const [resuming, setResuming] = useState(session.canResume);

  useEffect(() => {
    if (!resuming) return;
    // A reload keeps the session: its stored tokens are refreshed silently when needed.
    session
      .resume()
      .catch(() => undefined)
      .finally(() => setResuming(false));
  }, [resuming, session]);

  if (resuming) return <Loading />;
  if (!user || (user.role !== 'operator' && user.role !== 'admin')) return <LoginScreen session={session} rider={user} />;
  return <Shell />;
}

function Shell() {
  const session = useSession();
  const user = useSyncExternalStore(session.subscribe, session.snapshot);
  const screen = useScreen();
  const { t, language, setLanguage } = useI18n();
  const current = screens.find((entry) => entry.id === screen);

  useEffect(() => {
    document.title = `${current ? t(current.label) : ''} · ${t('app.title')}`;
  }, [current, t]);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <header className="topbar">
        <span className="brand">{t('app.title')}</span>
        <span className="who">{t('app.signedInAs', { name: user?.displayName ?? '', role: user?.role ?? '' })}</span>
        <label className="language">
          {t('app.language')}{' '}
          <select value={language} onChange={(event) => setLanguage(event.target.value as Language)}>
            {languages.map((code) => (
              <option key={code} value={code}>
                {code === 'en' ? 'English' : 'Deutsch'}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void session.logout()}>
          {t('app.signOut')}
        </button>
      </header>
      <nav className="sidebar" aria-label={t('nav.label')}>
        <ul>
          {screens.map((entry) => (
            <li key={entry.id}>
              <a href={`#/${entry.id}`} aria-current={entry.id === screen ? 'page' : undefined}>
                {t(entry.label)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <ScreenView screen={screen} />
        </Suspense>
      </main>
    </div>
  );
}

function ScreenView({ screen }: { screen: ScreenId }) {
  switch (screen) {
    case 'map':
      return <LiveMapScreen />;
    case 'cars':
      return <CarsScreen />;
    case 'reviews':
      return <ReviewsScreen />;
    case 'users':
      return <UsersScreen />;
    case 'trips':
      return <TripsScreen />;
    case 'fees':
      return <FeesScreen />;
    case 'stats':
      return <StatsScreen />;
    case 'dead-letters':
      return <DeadLettersScreen />;
    case 'faults':
      return <FaultsScreen />;
  }
}
