// A Server Component page: it renders the client components of avatar-cache/react directly. The
// server sends their fallback; the browser opens the cache after hydration.
import Link from "next/link";
import { AvatarCacheProvider, ProfilePicture } from "avatar-cache/react";

const friends = ["1", "2", "3", "4", "5", "6", "9"];

export default function Page() {
  return (
    <main>
      <h1>Friends</h1>
      <AvatarCacheProvider config={{ apiBase: "/images", namespace: "next_app" }} defaultImageUrl="/images/default_pfp.png">
        <ul>
          {friends.map((id) => (
            <li key={id}>
              <ProfilePicture userId={id} size={40} emoji="🙂" alt={`user ${id}`} />
            </li>
          ))}
        </ul>
      </AvatarCacheProvider>
      <Link href="/friends" data-testid="to-friends">
        Friends again
      </Link>
    </main>
  );
}
