// A fresh app's entry: one cache for the app (openAvatarCache), given to the provider as a
// promise, under StrictMode.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { isAvatarCacheError, openAvatarCache, type AvatarCache, type AvatarCacheConfig } from "avatar-cache";
import { AvatarCacheProvider } from "avatar-cache/react";

import { App, config } from "./App";

declare global {
  interface Window {
    /** Every cache instance the app got hold of; the check expects exactly one. */
    appCaches: Set<AvatarCache>;
    appErrors: string[];
  }
}
window.appCaches = new Set();
window.appErrors = [];

const cacheConfig: AvatarCacheConfig = config;
const cache = openAvatarCache(cacheConfig);
cache.then(
  (c) => window.appCaches.add(c),
  (e: unknown) => window.appErrors.push(isAvatarCacheError(e) ? `${e.code} ${e.field ?? ""}` : String(e)),
);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AvatarCacheProvider cache={cache} defaultImageUrl="/images/default_pfp.png">
      <App />
    </AvatarCacheProvider>
  </StrictMode>,
);
