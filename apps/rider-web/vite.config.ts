import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Where `npm run dev` proxies the API: the embedded platform that scripts/build-web.mjs starts (or one already running). */
const apiTarget = process.env['CARSHARE_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';

// Vite reads this file's default export; nothing else in the repository uses one (rule 11).
// eslint-disable-next-line no-restricted-syntax
export default defineConfig({
  plugins: [react()],
  // Absolute asset URLs: the gateway serves index.html for deep links like /trips/123 too.
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The gateway's CSP admits no inline script: never inline a module-preload polyfill or asset.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
    // The lazy map chunk is maplibre (~1 MB minified, ~290 KB compressed): it loads after the first
    // screen, which is what the budget in the README measures.
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      input: { main: 'index.html', sw: 'src/sw.ts' },
      output: {
        // The service worker keeps one name (its URL is its identity and scope); everything else is hashed.
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  server: {
    proxy: {
      '/v1/live': { target: apiTarget, ws: true, changeOrigin: true },
      '/v1': { target: apiTarget, changeOrigin: true },
      '/blobs': { target: apiTarget, changeOrigin: true },
      '/docs': { target: apiTarget, changeOrigin: true },
      '/health': { target: apiTarget, changeOrigin: true },
    },
  },
});
