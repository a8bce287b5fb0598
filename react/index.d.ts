// Types of avatar-cache/react. The hook and the component need only three methods of the cache,
// so any object with them (an AvatarCache, avatar-cache/testing's FakeAvatarCache) can be provided.
import type { CSSProperties, ImgHTMLAttributes, ReactElement, ReactNode } from "react";
import type { AvatarCacheConfig } from "./index.js";

/** Which layer answered (the `source` of an avatar-cache `Picture`). */
export type PictureSource = "memory" | "local" | "indexeddb" | "network" | "default";

/** A picture as the cache answers it (the shape of avatar-cache's `Picture`). */
export interface CachedPicture {
  userId: string;
  imageId: string | null;
  /** An object URL owned by the cache, or the remote or default URL. */
  url: string;
  source: PictureSource;
  stale: boolean;
  loadMs: number;
  /** data: URL of a tiny preview, when the cache knows one. */
  placeholder?: string;
}

/** What subscribers hear: one user's picture changed, or everything was cleared. */
export type PictureChange = { userId: string } | { all: true };

/** What the hook needs from an `AvatarCache`. */
export interface PictureSourceCache {
  peek(userId: string): CachedPicture | undefined;
  get(userId: string, imageId?: string): Promise<CachedPicture>;
  subscribe(listener: (change: PictureChange) => void): () => void;
  /** The preview of a user seen before (data: URL), synchronous; used when the cache has it. */
  placeholder?(userId: string): string | undefined;
}

/** The inline SVG silhouette shown when no emoji and no default URL are given. */
export declare const DEFAULT_PICTURE_URL: string;

export interface AvatarCacheProviderProps {
  /**
   * The cache, a promise of it (pictures show their fallback until it resolves), or null. Leave
   * it out and give `config` to let the provider open the app's cache.
   */
  cache?: PictureSourceCache | PromiseLike<PictureSourceCache> | null;
  /**
   * Opens the cache with `openAvatarCache(config)` after the provider mounts in the browser (never
   * on the server): one cache per namespace for the whole app, across StrictMode remounts and hot
   * reloads. From a Server Component, pass only plain data (no `fetch` or `onEvent` functions).
   */
  config?: AvatarCacheConfig;
  /** The picture shown while loading or on error, when a component has no `emoji`. */
  defaultImageUrl?: string;
  /** Called when the cache could not be opened (default: console.error). Pictures keep their fallback. */
  onError?: (error: unknown) => void;
  children?: ReactNode;
}

/**
 * Provides the cache to every hook and component below it. It never closes the cache: the cache
 * belongs to the app.
 */
export declare function AvatarCacheProvider(props: AvatarCacheProviderProps): ReactElement;

/**
 * False on the server and while React hydrates server HTML, true in every other client render.
 * The hook reads the cache only when it is true, so hydration never mismatches.
 */
export declare function useHydrated(): boolean;

/** The cache used outside any `<AvatarCacheProvider>`. */
export declare function setDefaultCache(cache: PictureSourceCache | null): void;

/** The cache from the nearest provider, else the default cache, else null. */
export declare function useAvatarCache(): PictureSourceCache | null;

export interface ProfilePictureState {
  /** What to put in `<img src>`; undefined while nothing is known yet. */
  url: string | undefined;
  /** The layer that answered this component's request (not the memory copy it left behind). */
  source: PictureSource | undefined;
  /**
   * True until the first answer for this user (never true when the tab has seen the picture),
   * and again after `clear()` or a change that removed the user's picture (`invalidate`) until
   * the new answer: nothing from before is shown meanwhile. A new picture (`setPicture`, a
   * refresh) replaces the old one without `loading`.
   */
  loading: boolean;
  /** Set only when the cache refused the request (a programmer error such as an empty id). */
  error: Error | undefined;
  picture: CachedPicture | undefined;
  /** A data: URL of a tiny preview (ThumbHash) of the picture, when the cache knows one. */
  placeholder: string | undefined;
}

export interface ProfilePictureOptions {
  /** Hold the request back (memory still answers): `<ProfilePicture>` defers offscreen ones. */
  defer?: boolean;
}

/** The picture of `userId`, from memory on the first render when the tab has seen it. */
export declare function useProfilePicture(
  userId: string | null | undefined,
  imageId?: string | null,
  options?: ProfilePictureOptions,
): ProfilePictureState;

export interface ProfilePictureProps
  extends Omit<ImgHTMLAttributes<HTMLImageElement>, "src" | "width" | "height" | "children" | "style"> {
  userId: string | null | undefined;
  /** Show this image of the user (e.g. the one just uploaded) rather than the current one. */
  imageId?: string | null;
  /** Width and height in CSS pixels (default 40). */
  size?: number;
  /** Shown while loading or on error instead of the default picture. */
  emoji?: string;
  style?: CSSProperties;
  /** Overrides the provider's default picture for this component. */
  defaultImageUrl?: string;
}

/**
 * A round profile picture in a fixed box. First frame: the picture if memory has it, else its
 * preview (placeholder), else the emoji or the default picture. A picture that arrives later
 * replaces the preview once decoded, with a short fade (none under prefers-reduced-motion).
 * Pictures in the viewport are asked for first (fetchpriority="high"), offscreen ones at idle.
 */
export declare function ProfilePicture(props: ProfilePictureProps): ReactElement;
