import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { AvatarCacheProvider } from "avatar-cache/react";

import { App } from "./App";
import { openCache } from "./cache";
import { recordFirstListFrame } from "./firstFrame";
import "./styles.css";

// The plain <img src="/avatar/{id}"> list (?plain=1) is served by the app's module service worker
// (avatar-cache/sw); the backend generates /avatar-sw.js with its storage origin.
const query = new URLSearchParams(window.location.search);
// End-to-end tests: what the friends list's first frame shows (www/e2e/previews.spec.ts).
const firstFrame = Number(query.get("firstFrame"));
if (firstFrame > 0) recordFirstListFrame(firstFrame);
if (query.get("plain") === "1" && "serviceWorker" in navigator) {
  const ns = query.get("ns") ?? "orbit_pfp";
  navigator.serviceWorker.register(`/avatar-sw.js?ns=${encodeURIComponent(ns)}`, { type: "module" }).catch((e: unknown) => {
    console.warn("[orbit] the avatar service worker did not register:", e);
  });
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "avatar-cache:sw-error") console.error("[orbit] avatar service worker:", event.data.message);
  });
}

const root = createRoot(document.getElementById("root")!);
const started = performance.now();

openCache().then(
  (cache) => {
    performance.mark("avatar-cache:open", { detail: { ms: performance.now() - started } });
    root.render(
      <StrictMode>
        <AvatarCacheProvider cache={cache} defaultImageUrl="/images/default_pfp.png">
          <App cache={cache} />
        </AvatarCacheProvider>
      </StrictMode>,
    );
  },
  (error: unknown) => {
    root.render(
      <div className="fatal">
        <h1>The avatar cache did not open</h1>
        <pre>{error instanceof Error ? error.message : String(error)}</pre>
      </div>,
    );
  },
);
