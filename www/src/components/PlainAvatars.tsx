// The same friends as plain <img src="/avatar/{id}"> elements: no script involved per picture.
// The service worker (avatar-cache/sw, /avatar-sw.js) answers them from the shared store. The app
// renders this list once the worker controls the page (../worker.ts); an app that renders such
// <img>s earlier gets the backend's redirect to the presigned URL for them.
import type { User } from "../api";

export function PlainAvatars({ users }: { users: User[] }) {
  return (
    <section className="plain-avatars">
      <h2>Plain &lt;img&gt; (service worker)</h2>
      <ul className="friends-grid" data-testid="plain-avatars">
        {users.map((u) => (
          <li key={u.id}>
            <img src={`/avatar/${encodeURIComponent(u.id)}`} alt={u.name} width={40} height={40} data-plain-user={u.id} />
          </li>
        ))}
      </ul>
    </section>
  );
}
