"use client";
// avatar-cache/react: a hook and a component over an AvatarCache, no JSX build step.
//
//   <AvatarCacheProvider config={{ batchEndpoint: "/images/batch" }}>   (or cache={promiseOrCache})
//     <ProfilePicture userId="42" size={40} emoji="🙂" />
//   </AvatarCacheProvider>
//
// A client module ("use client"): a React Server Component may render these components. On the
// server, and while React hydrates server HTML, every picture renders its fallback and the cache
// is not touched (so the WebAssembly module is never loaded on the server and the client's first
// render matches the server's). A client render that is not hydration reads
// `cache.peek(userId)` synchronously, so a picture the tab has seen is on the first frame; after
// hydration, the same happens on the frame that follows it. React is a peer dependency.
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

// The caches opened by `openAvatarCache` (main entry), by namespace: shared with it through a
// global symbol so that the provider can use an already open cache on its first render without
// importing the WebAssembly bindings.
const OPENED = Symbol.for("avatar-cache.opened");
const DEFAULT_NAMESPACE = "profile_pic";

function openedCache(namespace) {
  const entry = globalThis[OPENED]?.get(namespace);
  return entry?.cache ?? null;
}

// Values of promises handed to the provider, once they have resolved: a re-render (or another
// provider given the same promise) uses the cache at once.
const settled = new WeakMap();

function isThenable(value) {
  return value !== null && typeof value === "object" && typeof value.then === "function";
}

function reportOpenError(error, onError) {
  if (onError) onError(error);
  else console.error("avatar-cache: the cache did not open; pictures show their fallback.", error);
}

/**
 * Provides the cache to the tree below. `cache` is an open cache, a promise of one (pictures show
 * their fallback until it resolves) or null; or give `config` and the provider opens the app's
 * one cache for that namespace with `openAvatarCache(config)` after mounting (never on the
 * server). Neither closes the cache on unmount: it is the app's, shared across remounts
 * (StrictMode, hot reload).
 */
export function AvatarCacheProvider({ cache, config, defaultImageUrl, onError, children }) {
  const pending = isThenable(cache) ? cache : null;
  const namespace = config ? String(config.namespace ?? DEFAULT_NAMESPACE) : null;
  const [opened, setOpened] = useState(null);
  const configRef = useRef(config);
  configRef.current = config;
  const onErrorRef = useRef(onError);
  onErrorRef.current = onError;

  useEffect(() => {
    if (!pending || settled.has(pending)) return undefined;
    let live = true;
    pending.then(
      (value) => {
        settled.set(pending, value ?? null);
        if (live) setOpened({ from: pending, cache: value ?? null });
      },
      (error) => live && reportOpenError(error, onErrorRef.current),
    );
    return () => {
      live = false;
    };
  }, [pending]);

  // `generation` moves when the opened cache is closed (a logout that closes and reopens): the
  // tree falls back, and a new cache is opened for it.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (namespace === null || cache) return undefined;
    let live = true;
    let unwatch = () => {};
    import("./index.js")
      .then((entry) => entry.openAvatarCache(configRef.current))
      .then(
        (value) => {
          if (!live) return;
          const reopen = () => {
            setOpened(null);
            setGeneration((g) => g + 1);
          };
          const registered = globalThis[OPENED]?.get(namespace);
          // Closed (or replaced) before this answer came: open the current one.
          if (!registered || registered.cache !== value) return reopen();
          setOpened({ from: namespace, cache: value });
          if (!registered?.closed) return;
          registered.closed.add(reopen);
          unwatch = () => registered.closed.delete(reopen);
        },
        (error) => live && reportOpenError(error, onErrorRef.current),
      );
    return () => {
      live = false;
      unwatch();
    };
  }, [namespace, pending, cache, generation]);

  let current = null;
  if (pending) current = settled.get(pending) ?? (opened?.from === pending ? opened.cache : null);
  else if (cache) current = cache;
  else if (namespace !== null) current = openedCache(namespace) ?? (opened?.from === namespace ? opened.cache : null);

  const value = useMemo(() => ({ cache: current, defaultImageUrl }), [current, defaultImageUrl]);
  return createElement(CacheContext.Provider, { value }, children);
}

/** The cache from the nearest provider, else the one given to `setDefaultCache`, else null. */
export function useAvatarCache() {
  return useContext(CacheContext).cache ?? defaultCache;
}

// False on the server and while React hydrates server HTML, true in every other client render:
// pictures render their fallback until then, so hydration finds exactly the server's markup.
const subscribeNothing = () => () => {};
const onClient = () => true;
const onServer = () => false;

/** Whether this render may read the cache (not on the server, not during hydration). */
export function useHydrated() {
  return useSyncExternalStore(subscribeNothing, onClient, onServer);
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
  // (everyone re-reads). Listeners are handed the change.
  const notify = (change) => {
    if (change && typeof change.userId === "string") {
      const listeners = byUser.get(change.userId);
      if (listeners) for (const l of [...listeners]) l(change);
    } else {
      for (const set of [...byUser.values()]) for (const l of [...set]) l(change);
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

/**
 * Whether `change` took `userId`'s picture away rather than replacing it: a clear (`{ all: true }`)
 * always does; a change of the user did when memory no longer holds a picture for them
 * (`invalidate` here or in another tab). An update (`setPicture`, a revalidation that found a new
 * picture) leaves the new picture in memory, and is not a removal.
 */
function removedBy(change, cache, userId) {
  if (!change || typeof change.userId !== "string") return true;
  return change.userId === userId && cache.peek(userId) === undefined;
}

// What the hook reads from the cache: the peeked picture, and how many removals this component
// has heard of (its answers from before the last one are void).
const NOTHING_PEEKED = Object.freeze({ picture: undefined, removals: 0 });

function toError(e) {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The picture of `userId` (optionally a specific `imageId`), kept up to date:
 * `{ url, source, loading, error, picture }`. Renders synchronously from memory when the tab has
 * seen the picture; otherwise `loading` is true until `cache.get` answers (it falls back to the
 * default picture rather than failing for network trouble). After `clear()`, or `invalidate` of
 * this user, nothing from before is handed out: `loading` is true again while a new get loads.
 */
export function useProfilePicture(userId, imageId, options) {
  const provided = useAvatarCache();
  // `defer: true` holds the get back (a component not yet on screen); memory still answers.
  const deferred = options?.defer === true;
  const cache = useHydrated() ? provided : null;
  const id = typeof userId === "string" && userId !== "" ? userId : null;
  const wantImage = imageId ?? null;

  // A clear, or a change that took this user's picture away, counts as a removal: what the hook
  // held from before it (a get's answer) is never shown again, and a new get starts.
  const removalsHeard = useRef(0);
  const subscribe = useCallback(
    (onChange) => {
      if (!cache || !id) return noSubscription();
      return hubFor(cache).subscribe(id, (change) => {
        if (removedBy(change, cache, id)) removalsHeard.current++;
        onChange();
      });
    },
    [cache, id],
  );
  // peek() may build a new object each call: hand React the previous snapshot while nothing changed.
  const last = useRef(NOTHING_PEEKED);
  const getSnapshot = useCallback(() => {
    if (!cache || !id) return NOTHING_PEEKED;
    const p = cache.peek(id);
    const held = last.current;
    const picture = p && held.picture && samePicture(held.picture, p) ? held.picture : p;
    if (picture === held.picture && removalsHeard.current === held.removals) return held;
    return (last.current = { picture, removals: removalsHeard.current });
  }, [cache, id]);
  const { picture: peeked, removals } = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);

  const key = cache && id ? `${id}\u0000${wantImage ?? ""}` : null;
  const peekMatches = peeked !== undefined && (wantImage === null || peeked.imageId === wantImage);
  const needsGet = key !== null && !deferred && (!peekMatches || peeked.stale);

  const [fetched, setFetched] = useState(null);
  useEffect(() => {
    if (!needsGet) return undefined;
    let live = true;
    cache.get(id, wantImage ?? undefined).then(
      (picture) => live && setFetched({ key, cache, removals, picture, error: undefined }),
      (error) => live && setFetched({ key, cache, removals, picture: undefined, error: toError(error) }),
    );
    return () => {
      live = false;
    };
  }, [cache, id, wantImage, key, needsGet, removals]);

  // The get's answer, if it is for this user and cache and came after the last removal.
  const mine = fetched && fetched.key === key && fetched.cache === cache && fetched.removals === removals ? fetched : null;
  let picture = peekMatches ? peeked : mine?.picture ?? peeked;
  // The get's answer says which layer answered; the memory copy it left behind (what peek sees
  // now) would always say "memory". Keep the answer while peek shows the same picture, and when
  // it is the fresh answer to a stale peek.
  if (picture && mine?.picture && picture !== mine.picture && picture.imageId === mine.picture.imageId) {
    const sameAnswer = picture.url === mine.picture.url && picture.stale === mine.picture.stale;
    if (sameAnswer || (picture.stale && !mine.picture.stale)) picture = mine.picture;
  }
  const error = picture ? undefined : mine?.error;
  const loading = key !== null && !picture && !error;
  // The ThumbHash preview: the picture's own, else what the cache read from storage at open
  // (synchronous, cheap: the cache keeps rendered previews).
  const pictureImage = picture?.imageId;
  const stored = useMemo(
    () => (cache && id && typeof cache.placeholder === "function" ? cache.placeholder(id) : undefined),
    [cache, id, pictureImage, removals],
  );
  const placeholder = picture?.placeholder ?? stored;
  return useMemo(
    () => ({ url: picture?.url, source: picture?.source, loading, error, picture, placeholder }),
    [picture, loading, error, placeholder],
  );
}

// ----- visible first -----------------------------------------------------------------------
// One IntersectionObserver for every <ProfilePicture>: those in the viewport ask the cache first;
// the others ask when the browser is idle (requestIdleCallback, else a short timeout).
let observer = null;
const watched = new Map();

function watch(element, onVisible) {
  if (typeof IntersectionObserver !== "function") return null;
  if (!observer) {
    observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) watched.get(entry.target)?.();
      }
    });
  }
  watched.set(element, onVisible);
  observer.observe(element);
  return () => {
    watched.delete(element);
    observer?.unobserve(element);
  };
}

// Every offscreen picture waits for the same idle callback, so they all ask in one task: their
// gets share one batch call instead of going out one idle period at a time.
const idleWaiters = new Set();
let cancelIdle = null;

function whenIdle(callback) {
  idleWaiters.add(callback);
  if (!cancelIdle) {
    const run = () => {
      cancelIdle = null;
      const waiting = [...idleWaiters];
      idleWaiters.clear();
      for (const waiter of waiting) waiter();
    };
    if (typeof requestIdleCallback === "function") {
      const handle = requestIdleCallback(run, { timeout: 1000 });
      cancelIdle = () => cancelIdleCallback(handle);
    } else {
      const handle = setTimeout(run, 200);
      cancelIdle = () => clearTimeout(handle);
    }
  }
  return () => {
    idleWaiters.delete(callback);
    if (idleWaiters.size === 0 && cancelIdle) {
      cancelIdle();
      cancelIdle = null;
    }
  };
}

// "visible" once the element is in the viewport, "idle" once the browser had time for offscreen
// ones, "waiting" before either; where IntersectionObserver is missing, at once "visible".
function useVisibility(ref, active) {
  const [visibility, setVisibility] = useState("waiting");
  useEffect(() => {
    if (!active || visibility === "visible") return undefined;
    const element = ref.current;
    const stopWatching = element ? watch(element, () => setVisibility("visible")) : null;
    if (!stopWatching) {
      setVisibility("visible");
      return undefined;
    }
    const stopIdle = visibility === "waiting" ? whenIdle(() => setVisibility((v) => (v === "waiting" ? "idle" : v))) : null;
    return () => {
      stopWatching();
      stopIdle?.();
    };
  }, [ref, active, visibility]);
  return visibility;
}

function prefersReducedMotion() {
  return typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// The URL once the browser has decoded it (img.decode()), so swapping it in never shows a
// half-drawn or empty frame. A URL that fails to decode is handed over all the same: the <img>'s
// own error handling then shows the fallback.
// `priority` ("high" for a picture in the viewport) goes on the request the decode makes: for a
// remote URL (a bucket without CORS, the default picture) that is the one network request.
function useDecoded(url, immediate, priority) {
  const [decoded, setDecoded] = useState(immediate ? url : undefined);
  const target = immediate ? url : decoded;
  useEffect(() => {
    if (url === undefined || url === target || typeof Image !== "function") return undefined;
    let live = true;
    const image = new Image();
    if (priority) image.fetchPriority = priority;
    image.src = url;
    const done = () => live && setDecoded(url);
    // Without img.decode() (jsdom, old engines) there is nothing to wait for.
    if (typeof image.decode === "function") image.decode().then(done, done);
    else Promise.resolve().then(done);
    return () => {
      live = false;
    };
  }, [url, target]);
  return url !== undefined && (immediate || decoded === url);
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
  onError: onCallerError,
  ...rest
}) {
  const element = useRef(null);
  const hydrated = useHydrated();
  const visibility = useVisibility(element, hydrated);
  const { url, source, loading, error, placeholder, picture } = useProfilePicture(userId, imageId, {
    defer: visibility === "waiting",
  });
  // A picture memory had on this component's first frame shows at once; one that arrives later
  // replaces the preview only once decoded, with a short fade.
  const [firstFrameUrl] = useState(() => url);
  const ready = useDecoded(
    url,
    url !== undefined && (url === firstFrameUrl || picture?.source === "memory"),
    visibility === "visible" ? "high" : undefined,
  );
  const context = useContext(CacheContext);
  const fallbackUrl = defaultImageUrl ?? context.defaultImageUrl ?? DEFAULT_PICTURE_URL;
  const [brokenUrl, setBrokenUrl] = useState(null);
  const callerOnError = useRef(onCallerError);
  callerOnError.current = onCallerError;
  // The picture failed to load: the fallback shows, and the caller's own `onError` hears it.
  const onError = useCallback((e) => {
    setBrokenUrl(e.currentTarget.getAttribute("src"));
    callerOnError.current?.(e);
  }, []);
  // `display` comes after the shared box so that the emoji's flex centring is not overridden;
  // the caller's `style` still wins over both.
  const box = { width: size, height: size, borderRadius: "50%", flex: "none", verticalAlign: "middle" };
  const { display, ...ownStyle } = style ?? {};
  const showPicture = ready && url !== brokenUrl;
  const showPreview = !showPicture && placeholder !== undefined && url !== brokenUrl;
  const state = showPicture ? "ready" : loading || (url !== undefined && url !== brokenUrl) ? "loading" : "fallback";
  const shownUrl = showPicture ? url : showPreview ? placeholder : undefined;
  const previous = useRef(shownUrl);
  useEffect(() => {
    const img = element.current;
    const from = previous.current;
    previous.current = shownUrl;
    if (!img || !showPicture || from === undefined || from === shownUrl) return;
    if (typeof img.animate === "function" && !prefersReducedMotion()) {
      img.animate([{ opacity: 0.4 }, { opacity: 1 }], { duration: 180, easing: "ease-out" });
    }
  }, [shownUrl, showPicture]);
  useEffect(() => {
    const img = element.current;
    if (!img || typeof img.setAttribute !== "function") return;
    if (visibility === "visible") img.setAttribute("fetchpriority", "high");
    else img.removeAttribute("fetchpriority");
  }, [visibility, showPicture, showPreview]);
  const common = {
    ...rest,
    className,
    "data-avatar-user": userId,
    "data-avatar-source": showPicture ? source : undefined,
    "data-avatar-state": state,
  };
  if (!showPicture && !showPreview && emoji) {
    return createElement(
      "span",
      {
        ...common,
        ref: element,
        role: "img",
        "aria-label": alt || undefined,
        "aria-busy": loading || undefined,
        title: error ? error.message : rest.title,
        style: {
          ...box,
          // a block-level request stays block-level, but always a flex box (that centres)
          display: display === "none" ? "none" : display === "block" || display === "flex" ? "flex" : "inline-flex",
          alignItems: "center",
          justifyContent: "center",
          fontSize: Math.round(size * 0.58),
          lineHeight: 1,
          background: "#eef0f4",
          userSelect: "none",
          overflow: "hidden",
          ...ownStyle,
        },
      },
      emoji,
    );
  }
  const src = shownUrl ?? fallbackUrl;
  return createElement("img", {
    ...common,
    ref: element,
    src,
    alt,
    width: size,
    height: size,
    draggable: false,
    "aria-busy": loading || undefined,
    onError: showPicture ? onError : onCallerError,
    style: {
      ...box,
      display: display ?? "inline-block",
      objectFit: "cover",
      // The preview stays behind the picture: no empty frame, whatever the picture's transparency.
      ...(placeholder !== undefined && url !== brokenUrl
        ? { backgroundImage: `url("${placeholder}")`, backgroundSize: "cover" }
        : null),
      ...ownStyle,
    },
  });
}
