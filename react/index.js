// avatar-cache/react: a hook and a component over an AvatarCache, no JSX build step.
//
//   const cache = await AvatarCache.open({ batchEndpoint: "/images/batch" });
//   root.render(<AvatarCacheProvider cache={cache}><App /></AvatarCacheProvider>);
//   <ProfilePicture userId="42" size={40} emoji="🙂" />
//
// The picture a tab has seen renders on the first frame: the hook reads `cache.peek(userId)`
// synchronously through useSyncExternalStore and only calls `cache.get` when peek misses or is
// stale. React is a peer dependency; the core package works without it.
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";

/** The built-in fallback picture: a grey silhouette, inline so it never needs the network. */
export const DEFAULT_PICTURE_URL =
  "data:image/svg+xml;charset=utf-8," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#e2e6ec"/>' +
      '<circle cx="32" cy="25" r="12" fill="#a0a4aa"/><ellipse cx="32" cy="63" rx="22" ry="23" fill="#a0a4aa"/></svg>',
  );

const CacheContext = createContext({ cache: null, defaultImageUrl: undefined });
let defaultCache = null;

/** Sets the cache used by hooks and components rendered outside an `<AvatarCacheProvider>`. */
export function setDefaultCache(cache) {
  defaultCache = cache ?? null;
}

/** Provides `cache` (and optionally the picture shown while loading) to the tree below. */
export function AvatarCacheProvider({ cache, defaultImageUrl, children }) {
  const value = useMemo(() => ({ cache: cache ?? null, defaultImageUrl }), [cache, defaultImageUrl]);
  return createElement(CacheContext.Provider, { value }, children);
}

/** The cache from the nearest provider, else the one given to `setDefaultCache`, else null. */
export function useAvatarCache() {
  return useContext(CacheContext).cache ?? defaultCache;
}

// One subscription per cache, fanned out by user id: a list of 120 pictures costs one
// `cache.subscribe`, and a change to one user re-reads one snapshot, not 120.
const hubs = new WeakMap();

function hubFor(cache) {
  let hub = hubs.get(cache);
  if (hub) return hub;
  const byUser = new Map();
  let unsubscribe = null;
  // A change is `{ userId }` (that user's listeners re-read) or `{ all: true }` after a clear
  // (everyone re-reads).
  const notify = (change) => {
    if (change && typeof change.userId === "string") {
      const listeners = byUser.get(change.userId);
      if (listeners) for (const l of [...listeners]) l();
    } else {
      for (const set of [...byUser.values()]) for (const l of [...set]) l();
    }
  };
  hub = {
    subscribe(userId, listener) {
      let set = byUser.get(userId);
      if (!set) byUser.set(userId, (set = new Set()));
      set.add(listener);
      if (!unsubscribe) unsubscribe = cache.subscribe(notify);
      return () => {
        set.delete(listener);
        if (set.size === 0) byUser.delete(userId);
        if (byUser.size === 0 && unsubscribe) {
          unsubscribe();
          unsubscribe = null;
        }
      };
    },
  };
  hubs.set(cache, hub);
  return hub;
}

const noSubscription = () => () => {};

function samePicture(a, b) {
  return (
    a.userId === b.userId && a.imageId === b.imageId && a.url === b.url && a.source === b.source && a.stale === b.stale
  );
}

function toError(e) {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The picture of `userId` (optionally a specific `imageId`), kept up to date:
 * `{ url, source, loading, error, picture }`. Renders synchronously from memory when the tab has
 * seen the picture; otherwise `loading` is true until `cache.get` answers (it falls back to the
 * default picture rather than failing for network trouble).
 */
export function useProfilePicture(userId, imageId) {
  const cache = useAvatarCache();
  const id = typeof userId === "string" && userId !== "" ? userId : null;
  const wantImage = imageId ?? null;

  const subscribe = useCallback(
    (onChange) => (cache && id ? hubFor(cache).subscribe(id, onChange) : noSubscription()),
    [cache, id],
  );
  // peek() builds a new object each call: hand React the previous one while nothing changed.
  const last = useRef(undefined);
  const getSnapshot = useCallback(() => {
    if (!cache || !id) return undefined;
    const p = cache.peek(id);
    if (!p) return (last.current = undefined);
    if (last.current && samePicture(last.current, p)) return last.current;
    return (last.current = p);
  }, [cache, id]);
  const peeked = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);

  const key = cache && id ? `${id}\u0000${wantImage ?? ""}` : null;
  const peekMatches = peeked !== undefined && (wantImage === null || peeked.imageId === wantImage);
  const needsGet = key !== null && (!peekMatches || peeked.stale);

  const [fetched, setFetched] = useState(null);
  useEffect(() => {
    if (!needsGet) return undefined;
    let live = true;
    cache.get(id, wantImage ?? undefined).then(
      (picture) => live && setFetched({ key, cache, picture, error: undefined }),
      (error) => live && setFetched({ key, cache, picture: undefined, error: toError(error) }),
    );
    return () => {
      live = false;
    };
  }, [cache, id, wantImage, key, needsGet]);

  const mine = fetched && fetched.key === key && fetched.cache === cache ? fetched : null;
  let picture = peekMatches ? peeked : mine?.picture ?? peeked;
  if (picture && mine?.picture && picture.stale && !mine.picture.stale && picture.imageId === mine.picture.imageId) {
    picture = mine.picture;
  }
  const error = picture ? undefined : mine?.error;
  const loading = key !== null && !picture && !error;
  return useMemo(
    () => ({ url: picture?.url, source: picture?.source, loading, error, picture }),
    [picture, loading, error],
  );
}

/**
 * `<ProfilePicture userId size emoji imageId style />`: a round picture. The first frame already
 * shows the picture when the tab has seen it; while loading or on error it shows `emoji`, or the
 * default picture when no emoji is given.
 */
export function ProfilePicture({
  userId,
  imageId,
  size = 40,
  emoji,
  style,
  alt = "",
  defaultImageUrl,
  className,
  ...rest
}) {
  const { url, source, loading, error } = useProfilePicture(userId, imageId);
  const context = useContext(CacheContext);
  const fallbackUrl = defaultImageUrl ?? context.defaultImageUrl ?? DEFAULT_PICTURE_URL;
  const [brokenUrl, setBrokenUrl] = useState(null);
  const onError = useCallback((e) => {
    setBrokenUrl(e.currentTarget.getAttribute("src"));
  }, []);
  const base = {
    width: size,
    height: size,
    borderRadius: "50%",
    flex: "none",
    display: "inline-block",
    verticalAlign: "middle",
    ...style,
  };
  const showPicture = url !== undefined && url !== brokenUrl;
  const state = showPicture ? "ready" : loading ? "loading" : "fallback";
  const common = {
    ...rest,
    className,
    "data-avatar-user": userId,
    "data-avatar-source": showPicture ? source : undefined,
    "data-avatar-state": state,
  };
  if (!showPicture && emoji) {
    return createElement(
      "span",
      {
        ...common,
        role: "img",
        "aria-label": alt || undefined,
        "aria-busy": loading || undefined,
        title: error ? error.message : rest.title,
        style: {
          display: "inline-flex",
          alignItems: "center",
          justifyContent: "center",
          fontSize: Math.round(size * 0.58),
          lineHeight: 1,
          background: "#eef0f4",
          userSelect: "none",
          ...base,
          ...(style?.display ? { display: style.display } : null),
        },
      },
      emoji,
    );
  }
  const src = showPicture ? url : fallbackUrl;
  return createElement("img", {
    ...common,
    src,
    alt,
    width: size,
    height: size,
    draggable: false,
    "aria-busy": loading || undefined,
    onError: showPicture ? onError : undefined,
    style: { objectFit: "cover", ...base },
  });
}
