import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The console is served by the gateway under /admin (hashed assets, strict CSP: no inline
 * script or style), so every asset URL carries that base. `npm run dev` proxies the API and the
 * live feed to a running platform (`npm start`, port 8080 unless CARSHARE_GATEWAY_URL says
 * otherwise) so the console talks to real services with hot reload.
 */
const gateway = process.env['CARSHARE_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';

// eslint-disable-next-line no-restricted-syntax -- Vite finds its config only as the default export.
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // maplibre-gl alone is ~800 KB minified; the map screen loads it lazily, the rest stays small.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    port: 5174,
    proxy: {
      '/v1': { target: gateway, ws: true, changeOrigin: true },
    },
  },
});
