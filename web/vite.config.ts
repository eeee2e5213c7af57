import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The operator UI. `npm run build:web` writes web/dist, which the API serves (src/api/ui-routes.ts).
// React's JSX goes through Vite's built-in esbuild transform; no React plugin is needed.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Everything is served by Keel itself: no inlined data: URLs, no external files.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  // `npx vite --config web/vite.config.ts` serves the UI with hot reload against a running Keel.
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
})
