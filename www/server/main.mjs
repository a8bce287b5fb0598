#!/usr/bin/env node
// Runs the dev backend on its own: the app origin (API + the built app from --static) and the
// object-storage origin on the next port.
//
//   node server/main.mjs [--port 5173] [--storage-port PORT+1] [--static dist] [--pkg ../pkg]
//                        [--latency MS] [--storage-latency MS] [--jitter MS] [--url-lifetime SEC]
//                        [--console-probe]
//
// --console-probe (end-to-end tests over WebDriver) puts /__e2e/console-probe.js first in every
// HTML page served: it records console errors where a WebDriver client can read them.
//
// --port 0 picks free ports. The first line printed is `avatar-cache demo: <url>`.
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import http from "node:http";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { createBackend } from "./backend.mjs";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "5173" },
    "storage-port": { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    static: { type: "string" },
    pkg: { type: "string" },
    latency: { type: "string", default: "0" },
    "storage-latency": { type: "string" },
    jitter: { type: "string", default: "0" },
    "url-lifetime": { type: "string", default: "3600" },
    quiet: { type: "boolean", default: false },
    "console-probe": { type: "boolean", default: false },
  },
});

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml",
  ".png": "image/png", ".ico": "image/x-icon", ".map": "application/json",
};

const PROBE_PATH = "/__e2e/console-probe.js";
const PROBE_FILE = join(dirname(fileURLToPath(import.meta.url)), "console-probe.js");

function serveStatic(root, pkg, probe) {
  const base = resolve(root);
  const pkgBase = pkg ? resolve(pkg) : undefined;
  return (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (probe && path === PROBE_PATH) {
      res.writeHead(200, { "Content-Type": TYPES[".js"], "Cache-Control": "no-cache" });
      return createReadStream(PROBE_FILE).pipe(res);
    }
    // --pkg serves the raw npm package under /pkg/, for the plain ES-module page (plain.html).
    if (pkgBase && path.startsWith("/pkg/")) {
      const file = normalize(join(pkgBase, path.slice("/pkg/".length)));
      if (!file.startsWith(pkgBase) || !existsSync(file) || statSync(file).isDirectory()) {
        return res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      }
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-cache" });
      return createReadStream(file).pipe(res);
    }
    let file = normalize(join(base, path));
    if (!file.startsWith(base)) return res.writeHead(403).end();
    if (!existsSync(file) || statSync(file).isDirectory()) {
      // SPA: unknown paths without an extension get the app.
      if (extname(path)) return res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      file = join(base, "index.html");
    }
    if (probe && extname(file) === ".html") {
      // A classic script in <head> runs before the page's module scripts.
      const html = readFileSync(file, "utf8").replace(/<head>/i, `<head><script src="${PROBE_PATH}"></script>`);
      res.writeHead(200, { "Content-Type": TYPES[".html"], "Cache-Control": "no-cache" });
      return res.end(html);
    }
    const immutable = path.startsWith("/assets/");
    res.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Content-Length": statSync(file).size,
      "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    createReadStream(file).pipe(res);
  };
}

const port = Number(args.port);
const backend = await createBackend({
  host: args.host,
  storagePort: args["storage-port"] !== undefined ? Number(args["storage-port"]) : port === 0 ? 0 : port + 1,
  latencyMs: Number(args.latency),
  storageLatencyMs: args["storage-latency"] !== undefined ? Number(args["storage-latency"]) : undefined,
  jitterMs: Number(args.jitter),
  urlLifetimeSec: Number(args["url-lifetime"]),
  log: args.quiet ? undefined : (line) => console.log(`[backend] ${line}`),
});
const files = args.static ? serveStatic(args.static, args.pkg, args["console-probe"]) : (req, res) => res.writeHead(404).end("no --static directory");
const app = http.createServer((req, res) => {
  backend.handle(req, res, () => files(req, res)).catch((e) => {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  });
});
app.listen(port, args.host, () => {
  const url = `http://${args.host === "0.0.0.0" ? "127.0.0.1" : args.host}:${app.address().port}`;
  console.log(`avatar-cache demo: ${url}/`);
  console.log(`object storage:    ${backend.storageOrigin}/`);
  console.log(`backend counters:  ${url}/__stats`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    app.closeAllConnections?.();
    app.close();
    await backend.close();
    process.exit(0);
  });
}
