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

/** How long a list that has arrived waits for a cache still opening, so that it does not flash
 *  fallbacks that the cache's previews replace a few milliseconds later. */
const LIST_WAITS_FOR_CACHE_MS = 150;

/** The cache once `opening` settles: null until then (and after a failure, with the error). */
function useOpened(opening: Promise<AvatarCache>): { cache: AvatarCache | null; error: string | null } {
  const [state, setState] = useState<{ cache: AvatarCache | null; error: string | null }>({ cache: null, error: null });
  useEffect(() => {
    let live = true;
    opening.then(
      (cache) => live && setState({ cache, error: null }),
      (e: unknown) => live && setState({ cache: null, error: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [opening]);
  return state;
}

/** True once `active` has held for `ms` (a deadline that starts when `active` becomes true). */
function useAfter(active: boolean, ms: number): boolean {
  const [done, setDone] = useState(false);
  useEffect(() => {
    if (!active) return;
    const timer = setTimeout(() => setDone(true), ms);
    return () => clearTimeout(timer);
  }, [active, ms]);
  return done;
}

export function App({ opening }: { opening: Promise<AvatarCache> }) {
  const { cache, error: cacheError } = useOpened(opening);
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
        setMe(me);
        setFriends(friends);
      },
      (e: unknown) => live && setLoadError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, []);

  // One batched lookup for the whole list as soon as both the list and the cache are there; each
  // picture then finds its answer in flight or in a layer instead of asking the API on its own.
  useEffect(() => {
    if (cache && me && friends) void cache.prefetch([me.id, ...friends.map((f) => f.id)]).catch(() => undefined);
  }, [cache, me, friends]);

  // The list shows once the cache is ready (its previews are then on the first frame), or after a
  // short wait if the cache is slow or failed: the rest of the page never waits.
  const waited = useAfter(friends !== null, LIST_WAITS_FOR_CACHE_MS);
  const listShown = friends !== null && (cache !== null || cacheError !== null || waited);
  useEffect(() => {
    if (listShown) requestAnimationFrame(() => performance.mark("orbit:friends-rendered"));
  }, [listShown]);

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
    if (!listShown || !friends || !q) return listShown ? friends : null;
    return friends.filter((f) => f.name.toLowerCase().includes(q) || f.handle.includes(q) || f.city.toLowerCase().includes(q));
  }, [friends, filter, listShown]);

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
          {cacheError && <p className="error-banner" data-testid="cache-error">The avatar cache did not open ({cacheError}): pictures come straight from the server.</p>}
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
        {cache && <DiagnosticsPanel cache={cache} />}
      </main>
      {selected && cache && <UserProfileModal cache={cache} user={selected} isMe={selected.id === me?.id} onClose={() => setSelected(null)} onEdit={() => { setSelected(null); setEditing(true); }} />}
      {editing && me && cache && <EditProfileDialog me={me} cache={cache} onClose={() => setEditing(false)} />}
    </div>
  );
}
