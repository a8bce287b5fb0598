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
   * Tells no subscriber (use `change` for that).
   */
  remember(userId, answer, { layer = "memory", stale = false } = {}) {
    const record = normalise(userId, answer);
    if (!record) {
      this._memory.delete(userId);
      return this;
    }
    if (!this._answers.has(userId)) this._answers.set(userId, record);
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

  /** Tells every subscriber about `change` (`{ userId }` or `{ all: true }`), as another tab would. */
  change(change) {
    // As the real cache does with another tab's change: memory forgets the user (or everyone)
    // first, so a component that re-reads gets the new answer.
    if (change && change.all) this._memory.clear();
    else if (change && change.userId !== undefined) this._memory.delete(change.userId);
    this._notify(change);
  }

  // --- the AvatarCache interface -------------------------------------------------------------

  peek(userId) {
    this.calls.peek.push(userId);
    if (this.closed) return undefined;
    const record = this._memory.get(userId);
    return record ? this._picture(userId, record, "memory", record.stale) : undefined;
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

  async prefetch(userIds) {
    this.calls.prefetch.push([...userIds]);
    this._usable();
    userIds.forEach((id) => checkId("userIds[]", id));
    if (this._gate) await this._gate.promise;
    this._usable();
    const report = { requested: userIds.length, memory: 0, local: 0, indexeddb: 0, network: 0, defaulted: 0, apiCalls: 0, downloads: 0 };
    const misses = userIds.filter((id) => !this._memory.has(id));
    report.memory = userIds.length - misses.length;
    if (misses.length > 0) {
      this._apiCalls++;
      report.apiCalls = 1;
    }
    for (const id of misses) {
      const picture = this._load(id);
      if (picture.source === "network") {
        report.network++;
        report.downloads++;
      } else report.defaulted++;
    }
    return report;
  }

  async setPicture(userId, imageId, image) {
    this.calls.setPicture.push(image === undefined ? [userId, imageId] : [userId, imageId, image]);
    this._usable();
    checkId("userId", userId);
    if (image !== undefined && !(typeof Blob !== "undefined" && image instanceof Blob)) {
      throw avatarCacheError("INVALID_ARGUMENT", "avatar-cache: invalid argument `image`: must be a Blob");
    }
    if (imageId === null) {
      this._answers.set(userId, null);
      this._memory.delete(userId);
    } else {
      checkId("imageId", imageId);
      const record = normalise(userId, { imageId });
      this._answers.set(userId, record);
      this._memory.set(userId, { ...record, layer: "memory", stale: false });
    }
    this._notify({ userId });
  }

  async invalidate(userId) {
    this.calls.invalidate.push(userId);
    this._usable();
    checkId("userId", userId);
    this._memory.delete(userId);
    this._notify({ userId });
  }

  async clear() {
    this.calls.clear++;
    this._usable();
    this._memory.clear();
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

  close() {
    this.closed = true;
    this._listeners.clear();
    this._memory.clear();
  }

  // --- internals ----------------------------------------------------------------------------

  _notify(change) {
    for (const listener of [...this._listeners]) listener(change);
  }

  _usable() {
    if (this.closed) throw avatarCacheError("CLOSED", "avatar-cache: the cache is closed");
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
    return this._load(userId, imageId);
  }

  _load(userId, imageId) {
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
    if (!record || (record.imageId === null && record.url === undefined)) {
      return this._picture(userId, { imageId: null }, "default", false);
    }
    this._apiCalls++;
    this._downloads++;
    this._layers.network.hits++;
    this._memory.set(userId, { ...record, layer: "memory", stale: false });
    return this._picture(userId, record, "network", false);
  }
}

/** Shorthand for `new FakeAvatarCache(options)`. */
export function createFakeAvatarCache(options) {
  return new FakeAvatarCache(options);
}
