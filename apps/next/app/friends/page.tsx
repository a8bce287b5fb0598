// Reached by client-side navigation from "/": the cache is open already, so the pictures seen on
// "/" render on this page's first frame (no hydration, no loading state).
import { AvatarCacheProvider, ProfilePicture } from "avatar-cache/react";

const friends = ["1", "2", "3"];

export default function Friends() {
  return (
    <main data-page="friends">
      <h1>Friends, again</h1>
      <AvatarCacheProvider config={{ apiBase: "/images", namespace: "next_app" }} defaultImageUrl="/images/default_pfp.png">
        {friends.map((id) => (
          <ProfilePicture key={id} userId={id} size={40} emoji="🙂" alt={`user ${id}`} />
        ))}
      </AvatarCacheProvider>
    </main>
  );
}
