import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The web console: built by scripts/build.mjs into dist/console/, served by `fota serve` at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: { emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
