/// <reference types="node" />
// Build: `vite build --config web/vite.config.ts` from the repo root -> dist/web,
// which the control plane serves with an SPA fallback. Dev: the same config with
// `vite`, proxying /api to a control plane on localhost:3000.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Everything the Svelte plugin needs is here; there is no svelte.config.js.
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': { target: 'http://localhost:3000' },
    },
  },
});
