import { createRoot } from 'react-dom/client';
import { App } from './app/app.tsx';
import { I18nProvider } from './i18n/i18n.tsx';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <I18nProvider>
    <App />
  </I18nProvider>,
);

// The service worker caches the app shell for the next visit; a failure (private mode, HTTP on a
// LAN address) only loses that, the app works without it.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  });
}
