// Vite builds the UI into dist/web (`npm run build:web`), which the API serves at / (src/api/routes/web.ts).
// Dev mode (`npm run dev:web`): Vite serves web/ with hot reload on :5173 and forwards the API's paths
// to a running `secondread serve` (SECONDREAD_API, default http://127.0.0.1:8080), so the page and the
// API share one origin as they do in production.
import { fileURLToPath } from 'node:url';

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.SECONDREAD_API ?? 'http://127.0.0.1:8080';
const proxied = ['/v1', '/v2', '/metrics', '/healthz', '/readyz', '/docs'];

export default defineConfig(({ command }) => {
  // A build is always the production bundle, whatever NODE_ENV the caller has: vitest runs with
  // NODE_ENV=test, which would otherwise give React's development build and the JSX dev runtime
  // (larger and slower). Set before the React plugin is made, which reads it.
  if (command === 'build') process.env.NODE_ENV = 'production';
  return {
    root: fileURLToPath(new URL('.', import.meta.url)),
    plugins: [react()],
    define: command === 'build' ? { 'process.env.NODE_ENV': JSON.stringify('production') } : {},
    build: {
      outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
      emptyOutDir: true,
      // Hashed names under assets/: the server caches exactly these for a year.
      assetsDir: 'assets',
      // No inline <script> or data: modules: the page runs under a CSP without 'unsafe-inline'.
      assetsInlineLimit: 0,
      sourcemap: false,
      target: 'es2022',
    },
    server: {
      host: '127.0.0.1',
      proxy: Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: false }])),
    },
  };
});
