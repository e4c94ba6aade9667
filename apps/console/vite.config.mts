import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The console is served by the api at /console from dist/console (apps/api/src/console). Everything
 * it needs is bundled: no fonts, CDNs or other origins, so it works offline.
 */
export default defineConfig({
  root,
  base: '/console/',
  plugins: [preact()],
  // @herald/client's API types and CHANNELS (tsconfig.json says why only api-types.ts).
  resolve: {
    alias: { '@herald/client': fileURLToPath(new URL('../../libs/client/src/api-types.ts', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
