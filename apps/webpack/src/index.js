// A fresh webpack app without JSX: one cache for the app, provided as a promise.
import { StrictMode, createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { openAvatarCache } from "avatar-cache";
import { AvatarCacheProvider, ProfilePicture } from "avatar-cache/react";

const friends = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
const cache = openAvatarCache({ apiBase: "/images", batchEndpoint: "/images/batch", namespace: "webpack_app" });
window.appCaches = new Set();
cache.then((c) => window.appCaches.add(c));

createRoot(document.getElementById("root")).render(
  h(
    StrictMode,
    null,
    h(
      AvatarCacheProvider,
      { cache, defaultImageUrl: "/images/default_pfp.png" },
      h("h1", null, "Friends"),
      h("ul", null, friends.map((id) => h("li", { key: id }, h(ProfilePicture, { userId: id, size: 40, emoji: "🙂", alt: `user ${id}` })))),
    ),
  ),
);
