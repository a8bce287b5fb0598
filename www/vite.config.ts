// Vite config of the demo app. `npm run dev` also runs the dev backend in-process: the image API
// is mounted on the dev server (same origin as the app) and the object storage listens on its
// own port, so presigned image URLs are cross-origin as in production.
//
// avatar-cache is imported from ../pkg (built by scripts/build-pkg.sh); AVATAR_CACHE_PKG points
// elsewhere if needed.
import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

import { createBackend } from "./server/backend.mjs";

const pkgDir = resolve(import.meta.dirname, process.env.AVATAR_CACHE_PKG ?? "../pkg");

function devBackend(): Plugin {
  const start = () =>
    createBackend({
      storagePort: Number(process.env.AVATAR_STORAGE_PORT ?? 0),
      latencyMs: Number(process.env.AVATAR_LATENCY_MS ?? 120),
      storageLatencyMs: Number(process.env.AVATAR_STORAGE_LATENCY_MS ?? 80),
      jitterMs: Number(process.env.AVATAR_JITTER_MS ?? 60),
      log: (line: string) => console.log(`[backend] ${line}`),
    });
  return {
    name: "avatar-cache-dev-backend",
    async configureServer(server) {
      const backend = await start();
      server.middlewares.use((req, res, next) => void backend.handle(req, res, next));
      server.httpServer?.once("close", () => void backend.close());
      console.log(`[backend] object storage on ${backend.storageOrigin}`);
    },
    async configurePreviewServer(server) {
      const backend = await start();
      server.middlewares.use((req, res, next) => void backend.handle(req, res, next));
      server.httpServer?.once("close", () => void backend.close());
    },
  };
}

export default defineConfig({
  plugins: [react(), devBackend()],
  resolve: {
    alias: [
      { find: /^avatar-cache\/react$/, replacement: resolve(pkgDir, "react.js") },
      { find: /^avatar-cache$/, replacement: resolve(pkgDir, "index.js") },
    ],
    // pkg/ lives outside this app: its `import "react"` must resolve to this app's React.
    dedupe: ["react", "react-dom"],
  },
  server: {
    host: "127.0.0.1",
    fs: { allow: [import.meta.dirname, pkgDir] },
  },
  build: {
    target: "es2022",
    chunkSizeWarningLimit: 1024,
  },
});
