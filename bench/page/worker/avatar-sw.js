// The worker bench's module service worker (scope /worker/): avatar-cache/sw as an app would
// use it, against the bench server's backend. Registered by bench/worker.mjs.
import { serveAvatars } from "/pkg/sw.js";

serveAvatars({ apiBase: "/images", batchEndpoint: "/images/batch", namespace: "bench_worker" });
