// Types of avatar-cache/testing: FakeAvatarCache has every method of AvatarCache with the same
// types, so it can stand in wherever the app takes an AvatarCache (cast with `as unknown as
// AvatarCache` when a function is typed with the class itself), plus the controls a test needs.
import type {
  AvatarCacheConfig,
  AvatarCacheError,
  CacheStats,
  Change,
  Picture,
  PictureSource,
  PrefetchReport,
} from "./index.js";

/** What the fake "network" answers for a user: a URL, or the image id / URL / preview. */
export type FakeAnswer =
  | string
  | {
      /** Default `image-<userId>`; null: the user has no picture (answered with the default URL). */
      imageId?: string | null;
      /** Default `blob:fake/<imageId>`. */
      url?: string;
      /** A data: URL answered by `placeholder(userId)` and in `Picture.placeholder`. */
      placeholder?: string;
    };

export interface FakeAvatarCacheOptions {
  /** Users the network knows: `get` answers them from "network" (then from "memory"). */
  pictures?: Record<string, FakeAnswer | null>;
  /** Users already in memory: `peek` answers them, so components render them on the first frame. */
  seen?: Record<string, FakeAnswer>;
  /** The URL answered for users without a picture. Default `{apiBase}/default_pfp.png`, "/images/default_pfp.png". */
  defaultImageUrl?: string;
  /** Kept as `config` (what `FakeAvatarCache.open(config)` was given); not validated. */
  config?: AvatarCacheConfig;
}

export interface FakeAvatarCacheCalls {
  peek: string[];
  get: ([userId: string] | [userId: string, imageId: string])[];
  prefetch: string[][];
  setPicture: ([userId: string, imageId: string | null] | [userId: string, imageId: string | null, image: Blob])[];
  invalidate: string[];
  clear: number;
  subscribe: number;
}

/** An in-memory AvatarCache for unit tests: no WebAssembly, no storage, no network. */
export declare class FakeAvatarCache {
  /** Resolves a new fake, keeping `config`. */
  static open(config?: AvatarCacheConfig): Promise<FakeAvatarCache>;
  constructor(options?: FakeAvatarCacheOptions);

  readonly config: AvatarCacheConfig;
  readonly defaultImageUrl: string;
  /** Every call made, in order. */
  readonly calls: FakeAvatarCacheCalls;
  /** True after `close()`. Then, as with the real cache, nothing rejects for being closed: `get`
   * answers the default picture, `peek` undefined, `prefetch` counts every user as `defaulted`,
   * `setPicture`, `invalidate` and `clear` resolve doing nothing (bad arguments still reject; the
   * real cache's `invalidate` and `clear` still empty its storage). */
  readonly closed: boolean;

  // The AvatarCache interface.
  /** Memory only; the same object while the picture is unchanged (like AvatarCache.peek). */
  peek(userId: string): Picture | undefined;
  get(userId: string, imageId?: string): Promise<Picture>;
  /** Each id once; one API call per user not in memory, or one per `batch.maxIds` users with a `batchEndpoint`. */
  prefetch(userIds: string[]): Promise<PrefetchReport>;
  /** `imageId` null: the user has no picture (memory keeps a record with the default URL). Required: left out, it rejects. */
  setPicture(userId: string, imageId: string | null, image?: Blob): Promise<void>;
  invalidate(userId: string): Promise<void>;
  clear(): Promise<void>;
  subscribe(listener: (change: Change) => void): () => void;
  placeholder(userId: string): string | undefined;
  stats(): CacheStats;
  /** The same as `stats()`; prints nothing. */
  diagnose(): CacheStats;
  close(): void;

  // Controls.
  /** What the network answers for `userId` from now on (null: no picture). Ends a `fail`. */
  answer(userId: string, answer: FakeAnswer | null): this;
  /** Puts the picture in memory now (peek answers it; `get` answers from `layer`); null: the user has no picture (the default URL). Tells no subscriber. */
  remember(userId: string, answer: FakeAnswer | null, options?: { layer?: Exclude<PictureSource, "default">; stale?: boolean }): this;
  /** The network fails for `userId`: `get` answers the stored picture (stale) or the default, and `reason` is recorded in `stats().recentErrors`. */
  fail(userId: string, reason?: string): this;
  /** `get(userId)` rejects with `error` from now on. */
  reject(userId: string, error?: Error): this;
  /** Holds every `get` and `prefetch` until `resume()`. */
  pause(): this;
  /** Releases the held calls; resolves once they have answered. */
  resume(): Promise<void>;
  /** Memory forgets the user (or everyone), then every subscriber hears `change`, as from another tab. */
  change(change: Change): void;
}

/** `new FakeAvatarCache(options)`. */
export declare function createFakeAvatarCache(options?: FakeAvatarCacheOptions): FakeAvatarCache;

/** An Error shaped like the ones AvatarCache throws. */
export declare function avatarCacheError(code: AvatarCacheError["code"], message: string, field?: string): AvatarCacheError;
