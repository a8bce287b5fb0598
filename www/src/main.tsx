import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { AvatarCacheProvider } from "avatar-cache/react";

import { App } from "./App";
import { openCache } from "./cache";
import { recordFirstListFrame } from "./firstFrame";
import { registerWorker } from "./worker";
import "./styles.css";

// End-to-end tests: what the friends list's first frame shows (www/e2e/previews.spec.ts).
const firstFrame = Number(new URLSearchParams(window.location.search).get("firstFrame"));
if (firstFrame > 0) recordFirstListFrame(firstFrame);
registerWorker();

// The page renders at once: the module compiles and IndexedDB opens while React mounts, and every
// picture shows its fallback until the cache is ready (no top-level `await`).
const started = performance.now();
const opening = openCache();
opening.then(
  () => performance.mark("avatar-cache:open", { detail: { ms: performance.now() - started } }),
  () => undefined,
);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AvatarCacheProvider cache={opening} defaultImageUrl="/images/default_pfp.png" onError={() => undefined}>
      <App opening={opening} />
    </AvatarCacheProvider>
  </StrictMode>,
);
