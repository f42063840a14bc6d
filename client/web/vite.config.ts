/**
 * Vite 8 config of the browser editor: `npm run build:web` bundles client/web/index.html into
 * client/web/dist (what the server serves at `/`); `npm run dev:web` serves it with hot
 * reload and forwards everything that is not the editor's own files (WebSockets, /api) to
 * an Atrium server (ATRIUM_DEV_TARGET, default http://localhost:1234).
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))
/** The Atrium server the dev server (and `vite preview`) forwards to. */
const target = process.env.ATRIUM_DEV_TARGET ?? 'http://localhost:1234'

export default defineConfig({
  root,
  // The server serves the page at `/` and the assets under `/+/` (server/http/static.ts): `+` is no document-name character.
  base: '/+/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Yjs, zod and the SDK make one chunk of ~400 kB; it is loaded once per page.
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: {
      // Document sockets (`/site/demo`) and REST; not Vite's own paths nor the page itself (`/`, `/?doc=…`).
      '^/(?!\\+/|@|src/|node_modules/|index\\.html|\\?|$)': { target, ws: true, headers: { origin: target } },
    },
  },
})
