import { useEffect } from "react";
import { openAvatarCache, type AvatarCache, type AvatarCacheConfig } from "avatar-cache";
import { ProfilePicture, useAvatarCache, useProfilePicture } from "avatar-cache/react";

export const config: AvatarCacheConfig = { apiBase: "/images", batchEndpoint: "/images/batch", namespace: "vite_app" };

const friends = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];

function Caption({ userId }: { userId: string }) {
  const { source, loading } = useProfilePicture(userId);
  return <span data-testid={`caption-${userId}`}>{loading ? "…" : source}</span>;
}

/** StrictMode runs this effect twice; openAvatarCache must still hand out the provider's cache. */
function SameCache() {
  const provided = useAvatarCache();
  useEffect(() => {
    if (provided) window.appCaches.add(provided as AvatarCache);
    void openAvatarCache(config).then((c) => window.appCaches.add(c));
  }, [provided]);
  return null;
}

export function App() {
  return (
    <main>
      <SameCache />
      <h1>Friends</h1>
      <ul>
        {friends.map((id) => (
          <li key={id}>
            <ProfilePicture userId={id} size={40} emoji="🙂" alt={`user ${id}`} /> <Caption userId={id} />
          </li>
        ))}
      </ul>
      <p>
        Nobody: <ProfilePicture userId={null} size={48} emoji="🙂" data-testid="emoji" />
      </p>
    </main>
  );
}
