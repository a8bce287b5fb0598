// avatar-cache/testing: an in-memory stand-in for AvatarCache, for unit tests (Vitest or Jest
// with jsdom or happy-dom, or plain Node). It loads no WebAssembly and touches no storage or
// network: the test says what the "network" answers, which users are already in memory, which
// requests fail, and when changes happen.
//
//   const cache = new FakeAvatarCache({ pictures: { "42": "https://cdn.test/42.png" } });
//   render(<AvatarCacheProvider cache={cache}><ProfilePicture userId="42" /></AvatarCacheProvider>);
//   expect(await screen.findByRole("img")).toHaveAttribute("data-avatar-source", "network");

const LAYERS = ["memory", "local", "indexeddb", "network"];

/** An Error shaped like the ones AvatarCache throws: name "AvatarCacheError", `code`, `field`. */
export function avatarCacheError(code, message, field) {
  const error = new Error(message);
  error.name = "AvatarCacheError";
  error.code = code;
  if (field !== undefined) error.field = field;
  return error;
}

function normalise(userId, answer) {
  if (answer === null) return null;
  if (typeof answer === "string") answer = { url: answer };
  const imageId = answer.imageId === undefined ? `image-${userId}` : answer.imageId;
  return {
    imageId,
    url: answer.url ?? (imageId === null ? undefined : `blob:fake/${encodeURIComponent(imageId)}`),
    placeholder: answer.placeholder,
  };
}

function checkId(name, value) {
  if (typeof value !== "string" || value === "") {
    throw avatarCacheError("INVALID_ARGUMENT", `avatar-cache: invalid argument \`${name}\`: must be a non-empty string`);
  }
}

/** The ids of a prefetch, checked, each once, in the order given. */
function uniqueIds(userIds) {
  if (!Array.isArray(userIds)) {
    throw avatarCacheError("INVALID_ARGUMENT", "avatar-cache: invalid argument `userIds`: must be an array of strings");
  }
  userIds.forEach((id) => checkId("userIds[]", id));
  return [...new Set(userIds)];
}

/** A memory record for a user the backend says has no picture: its URL is the default. */
const NO_PICTURE = Object.freeze({ imageId: null, url: undefined, placeholder: undefined });

/** Whether two peeks show the same picture (the real `peek` then returns the same object). */
function samePeek(a, b) {
  return a.imageId === b.imageId && a.url === b.url && a.stale === b.stale && a.placeholder === b.placeholder;
}

function emptyReport(requested) {
  return { requested, memory: 0, local: 0, indexeddb: 0, network: 0, defaulted: 0, apiCalls: 0, downloads: 0 };
}

function emptyLayer() {
  return { hits: 0, misses: 0, stale: 0, p50Ms: 0, p95Ms: 0 };
}

/**
 * The stand-in. Same methods as AvatarCache (peek, get, prefetch, setPicture, invalidate, clear,
 * subscribe, placeholder, stats, diagnose, close), plus controls: answer, remember, fail, reject,
 * pause, resume, change, and the `calls` log.
 */
export class FakeAvatarCache {
  /** Like AvatarCache.open: resolves a new fake (the config is kept in `config`, not validated). */
  static async open(config) {
    return new FakeAvatarCache({ config });
  }

  constructor(options = {}) {
    this.config = options.config ?? {};
    /** The URL answered for users without a picture (like the real cache's `defaultImageUrl`). */
    this.defaultImageUrl =
      options.defaultImageUrl ?? this.config.defaultImageUrl ?? `${(this.config.apiBase ?? "/images").replace(/\/+$/, "")}/default_pfp.png`;
    /** Every call made, in order, for assertions. */
    this.calls = { peek: [], get: [], prefetch: [], setPicture: [], invalidate: [], clear: 0, subscribe: 0 };
    this.closed = false;
    this._answers = new Map();
    this._memory = new Map();
    // What `peek` last answered per user: the same object while the picture is unchanged.
    this._peeks = new Map();
    this._failures = new Map();
    this._rejections = new Map();
    this._listeners = new Set();
    this._gate = null;
    this._inFlight = 0;
    this._layers = { memory: emptyLayer(), local: emptyLayer(), indexeddb: emptyLayer(), network: { ...emptyLayer(), errors: 0 } };
    this._gets = 0;
    this._apiCalls = 0;
    this._downloads = 0;
    this._recentErrors = [];
    for (const [userId, answer] of Object.entries(options.pictures ?? {})) this.answer(userId, answer);
    for (const [userId, answer] of Object.entries(options.seen ?? {})) this.remember(userId, answer);
  }

  // --- controls -----------------------------------------------------------------------------

  /**
   * What the "network" answers for `userId` from now on: a URL, `{ imageId, url, placeholder }`,
   * or null (the user has no picture: the default picture). Users never answered get the default.
   */
  answer(userId, answer) {
    this._answers.set(userId, normalise(userId, answer));
    this._failures.delete(userId);
    return this;
  }

  /**
   * Puts `userId`'s picture in memory now, as if this tab had seen it: `peek` answers it (so a
   * component renders it on its first frame) and `get` answers it from `layer` (default "memory").
   * `null`: the tab has seen that the user has no picture (the default URL, `imageId: null`).
   * Tells no subscriber (use `change` for that).
   */
  remember(userId, answer, { layer = "memory", stale = false } = {}) {
    const record = normalise(userId, answer) ?? NO_PICTURE;
    if (!this._answers.has(userId)) this._answers.set(userId, answer === null ? null : record);
    this._memory.set(userId, { ...record, layer, stale });
    return this;
  }

  /**
   * From now on the network fails for `userId` (`reason` lands in `stats().recentErrors`): `get`
   * answers the stored picture marked stale if there is one, else the default picture; it does
   * not reject, like the real cache. `answer(userId, …)` ends the failure.
   */
  fail(userId, reason = "NETWORK: network failure") {
    this._failures.set(userId, reason);
    return this;
  }

  /** `get(userId)` rejects with `error` from now on (what the real cache does for programmer errors). */
  reject(userId, error = avatarCacheError("INVALID_ARGUMENT", "avatar-cache: rejected by the test")) {
    this._rejections.set(userId, error);
    return this;
  }

  /** Holds every `get` and `prefetch` until `resume()`: for asserting loading states. */
  pause() {
    if (!this._gate) {
      let open;
      const promise = new Promise((resolve) => (open = resolve));
      this._gate = { promise, open };
    }
    return this;
  }

  /** Lets the held calls answer; resolves once they have. */
  async resume() {
    const gate = this._gate;
    this._gate = null;
    if (gate) gate.open();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }

  /**
   * Tells every subscriber about `change` (`{ userId }` or `{ all: true }`), as another tab would
   * (a closed cache tells nobody).
   */
  change(change) {
    // As the real cache does with another tab's change: memory forgets the user (or everyone)
    // first, so a component that re-reads gets the new answer.
    if (change && change.all) this._memory.clear();
    else if (change && change.userId !== undefined) this._memory.delete(change.userId);
    this._notify(change);
  }

  // --- the AvatarCache interface -------------------------------------------------------------

  /** Like AvatarCache.peek: memory only, and the same object while the picture is unchanged. */
  peek(userId) {
    this.calls.peek.push(userId);
    const record = this.closed ? undefined : this._memory.get(userId);
    if (!record) {
      this._peeks.delete(userId);
      return undefined;
    }
    const picture = this._picture(userId, record, "memory", record.stale);
    const previous = this._peeks.get(userId);
    if (previous && samePeek(previous, picture)) return previous;
    this._peeks.set(userId, picture);
    return picture;
  }

  async get(userId, imageId) {
    this.calls.get.push(imageId === undefined ? [userId] : [userId, imageId]);
    checkId("userId", userId);
    // A closed cache answers the default picture, as the real one does.
    if (this.closed) return this._picture(userId, { imageId: null }, "default", false);
    if (imageId !== undefined && imageId !== null) checkId("imageId", imageId);
    this._inFlight++;
    try {
      if (this._gate) await this._gate.promise;
      if (this.closed) return this._picture(userId, { imageId: null }, "default", false);
      const rejection = this._rejections.get(userId);
      if (rejection) throw rejection;
      this._gets++;
      return this._answer(userId, imageId ?? undefined);
    } finally {
      this._inFlight--;
    }
  }

  /**
   * Like AvatarCache.prefetch: each id once (`requested` counts them); users in memory answer
   * from there; the others cost one API call each, or one per `batch.maxIds` users with a
   * `batchEndpoint`. A user without a picture counts as `defaulted`. A closed cache counts every
   * user as `defaulted` and asks nothing.
   */
  async prefetch(userIds) {
    this.calls.prefetch.push(Array.isArray(userIds) ? [...userIds] : userIds);
    const users = uniqueIds(userIds);
    const report = emptyReport(users.length);
    if (this._gate && !this.closed) await this._gate.promise;
    if (this.closed) return { ...report, defaulted: users.length };
    const misses = [];
    for (const id of users) {
      const record = this._memory.get(id);
      if (!record) {
        misses.push(id);
        continue;
      }
      // Counted by the layer that held it (see `remember`), then in memory like any answer.
      if (record.imageId === null) report.defaulted++;
      else report[record.layer]++;
      if (record.layer !== "memory") this._memory.set(id, { ...record, layer: "memory" });
    }
    report.apiCalls = this._apiCallsFor(misses.length);
    this._apiCalls += report.apiCalls;
    for (const id of misses) {
      const picture = this._fromNetwork(id);
      if (picture.imageId === null) report.defaulted++;
      else report[picture.source]++;
      if (picture.source === "network" && picture.imageId !== null) report.downloads++;
    }
    return report;
  }

  /**
   * Like AvatarCache.setPicture: `imageId` null means "no picture" (memory keeps a record with
   * the default URL); a left-out `imageId` is refused. A closed cache checks the arguments, then
   * does nothing.
   */
  async setPicture(userId, imageId, image) {
    this.calls.setPicture.push(image === undefined ? [userId, imageId] : [userId, imageId, image]);
    checkId("userId", userId);
    if (imageId !== null) checkId("imageId", imageId);
    if (image !== undefined && !(typeof Blob !== "undefined" && image instanceof Blob)) {
      throw avatarCacheError("INVALID_ARGUMENT", "avatar-cache: invalid argument `image`: must be a Blob");
    }
    if (this.closed) return;
    const record = imageId === null ? NO_PICTURE : normalise(userId, { imageId });
    this._answers.set(userId, imageId === null ? null : record);
    this._memory.set(userId, { ...record, layer: "memory", stale: false });
    this._notify({ userId });
  }

  /** Like AvatarCache.invalidate: memory forgets the user, subscribers hear it (closed: nothing). */
  async invalidate(userId) {
    this.calls.invalidate.push(userId);
    checkId("userId", userId);
    if (this.closed) return;
    this._memory.delete(userId);
    this._notify({ userId });
  }

  /** Like AvatarCache.clear: memory forgets everyone, subscribers hear `{ all: true }` (closed: nothing). */
  async clear() {
    this.calls.clear++;
    if (this.closed) return;
    this._memory.clear();
    this._peeks.clear();
    this._notify({ all: true });
  }

  subscribe(listener) {
    this.calls.subscribe++;
    this._listeners.add(listener);
    return () => {
      this._listeners.delete(listener);
    };
  }

  placeholder(userId) {
    return this._memory.get(userId)?.placeholder ?? this._answers.get(userId)?.placeholder;
  }

  stats() {
    const hits = LAYERS.slice(0, 3).reduce((n, layer) => n + this._layers[layer].hits, 0);
    const layers = {};
    for (const layer of LAYERS) layers[layer] = { ...this._layers[layer] };
    return {
      layers,
      hitRate: this._gets === 0 ? 0 : hits / this._gets,
      gets: this._gets,
      apiCalls: this._apiCalls,
      downloads: this._downloads,
      bytesDownloaded: 0,
      refreshes: 0,
      evictions: 0,
      idb: null,
      localBytes: 0,
      objectUrls: [...this._memory.values()].filter((r) => /^(blob:|data:)/.test(r.url ?? "")).length,
      inFlight: this._inFlight,
      breaker: "closed",
      recentErrors: this._recentErrors.map((e) => ({ ...e })),
    };
  }

  /** The same as `stats()` (the fake prints nothing). */
  diagnose() {
    return this.stats();
  }

  /**
   * Like AvatarCache.close: later calls reject nothing: `get` answers the default picture,
   * `peek` undefined, `prefetch` counts every user as defaulted, the others do nothing.
   */
  close() {
    this.closed = true;
    this._listeners.clear();
    this._memory.clear();
    this._peeks.clear();
  }

  // --- internals ----------------------------------------------------------------------------

  _notify(change) {
    if (this.closed) return;
    for (const listener of [...this._listeners]) listener(change);
  }

  /** API calls for `users` users not in memory: one each, or one per batch with a batch endpoint. */
  _apiCallsFor(users) {
    if (users === 0 || !this.config.batchEndpoint) return users;
    const maxIds = this.config.batch?.maxIds ?? 100;
    return Math.ceil(users / maxIds);
  }

  _picture(userId, record, source, stale) {
    const picture = { userId, imageId: record.imageId, url: record.url ?? this.defaultImageUrl, source, stale, loadMs: 0 };
    if (record.placeholder !== undefined) picture.placeholder = record.placeholder;
    return picture;
  }

  _answer(userId, imageId) {
    const record = this._memory.get(userId);
    if (record && (imageId === undefined || record.imageId === imageId) && !this._failures.has(userId)) {
      const layer = this._layers[record.layer] ?? this._layers.memory;
      layer.hits++;
      if (record.stale) layer.stale++;
      const picture = this._picture(userId, record, record.layer, record.stale);
      if (record.layer !== "memory") this._memory.set(userId, { ...record, layer: "memory" });
      return picture;
    }
    this._layers.memory.misses++;
    this._apiCalls++;
    return this._fromNetwork(userId, imageId);
  }

  /**
   * What the backend answers for `userId` (the API call already counted): the picture, "no
   * picture" (kept in memory with the default URL, as the real cache keeps the record), the
   * stored picture marked stale when the network fails, else the default picture.
   */
  _fromNetwork(userId, imageId) {
    const failure = this._failures.get(userId);
    if (failure !== undefined) {
      this._layers.network.errors++;
      this._recentErrors.push({ at: Date.now(), layer: "network", reason: failure });
      if (this._recentErrors.length > 20) this._recentErrors.shift();
      const stored = this._memory.get(userId);
      if (stored) return this._picture(userId, stored, stored.layer, true);
      return this._picture(userId, { imageId: null }, "default", false);
    }
    let record = this._answers.get(userId);
    if (imageId !== undefined && (!record || record.imageId !== imageId)) record = normalise(userId, { imageId });
    // Never answered: the backend does not know the user.
    if (record === undefined) return this._picture(userId, { imageId: null }, "default", false);
    record ??= NO_PICTURE;
    if (record.imageId !== null) this._downloads++;
    this._layers.network.hits++;
    this._memory.set(userId, { ...record, layer: "memory", stale: false });
    return this._picture(userId, record, "network", false);
  }
}

/** Shorthand for `new FakeAvatarCache(options)`. */
export function createFakeAvatarCache(options) {
  return new FakeAvatarCache(options);
}
