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
