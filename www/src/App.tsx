import { useCallback, useEffect, useMemo, useState } from "react";
import type { AvatarCache } from "avatar-cache";

import { getDiscover, getFriends, getMe, type User } from "./api";
import { DiagnosticsPanel } from "./components/DiagnosticsPanel";
import { EditProfileDialog } from "./components/EditProfileDialog";
import { FriendCard } from "./components/FriendCard";
import { Header } from "./components/Header";
import { PlainAvatars } from "./components/PlainAvatars";
import { UserProfileModal } from "./components/UserProfileModal";
import { useWorkerControl } from "./worker";

export function App({ cache }: { cache: AvatarCache }) {
  const plain = useWorkerControl();
  const [me, setMe] = useState<User | null>(null);
  const [friends, setFriends] = useState<User[] | null>(null);
  const [discover, setDiscover] = useState<User[]>([]);
  const [discoverPage, setDiscoverPage] = useState(0);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [selected, setSelected] = useState<User | null>(null);
  const [editing, setEditing] = useState(false);
  const [filter, setFilter] = useState("");

  useEffect(() => {
    let live = true;
    Promise.all([getMe(), getFriends()]).then(
      ([me, friends]) => {
        if (!live) return;
        // One batched lookup for the whole list before it mounts; each picture then finds its
        // answer in flight or in a layer instead of asking the API on its own.
        void cache.prefetch([me.id, ...friends.map((f) => f.id)]).catch(() => undefined);
        setMe(me);
        setFriends(friends);
        requestAnimationFrame(() => performance.mark("orbit:friends-rendered"));
      },
      (e: unknown) => live && setLoadError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [cache]);

  useEffect(() => {
    let live = true;
    getDiscover(discoverPage).then(
      (users) => live && setDiscover(users),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [discoverPage]);

  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    if (!friends || !q) return friends;
    return friends.filter((f) => f.name.toLowerCase().includes(q) || f.handle.includes(q) || f.city.toLowerCase().includes(q));
  }, [friends, filter]);

  const open = useCallback((u: User) => setSelected(u), []);

  return (
    <div className="app">
      <Header me={me} onEditProfile={() => setEditing(true)} onOpenProfile={() => me && setSelected(me)} />
      <main className="layout">
        <section className="content">
          <div className="section-head">
            <h1>
              Friends {friends && <span className="count" data-testid="friend-count">{friends.length}</span>}
            </h1>
            <input
              className="search"
              type="search"
              placeholder="Filter by name, handle or city"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
              aria-label="Filter friends"
            />
          </div>
          {loadError && <p className="error-banner">Could not load your friends: {loadError}</p>}
          {!shown && !loadError && <p className="muted">Loading friends…</p>}
          {shown && (
            <ul className="friends-grid" data-testid="friends">
              {shown.map((f) => (
                <FriendCard key={f.id} user={f} onOpen={open} />
              ))}
            </ul>
          )}
          {shown && shown.length === 0 && <p className="muted">Nobody matches “{filter}”.</p>}

          <div className="section-head discover-head">
            <h2>People you may know</h2>
            <button className="btn ghost" onClick={() => setDiscoverPage((p) => p + 1)} data-testid="discover-more">
              Show others
            </button>
          </div>
          <ul className="discover" data-testid="discover">
            {discover.map((u) => (
              <FriendCard key={u.id} user={u} onOpen={open} compact />
            ))}
          </ul>
        </section>
        {plain && friends && <PlainAvatars users={friends.slice(0, 12)} />}
        <DiagnosticsPanel cache={cache} />
      </main>
      {selected && <UserProfileModal cache={cache} user={selected} isMe={selected.id === me?.id} onClose={() => setSelected(null)} onEdit={() => { setSelected(null); setEditing(true); }} />}
      {editing && me && <EditProfileDialog me={me} cache={cache} onClose={() => setEditing(false)} />}
    </div>
  );
}
