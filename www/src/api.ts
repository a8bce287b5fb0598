// The app's own backend calls (users, upload, dev-backend controls) and the `fetch` handed to
// the cache, which the offline switch can cut.

export interface User {
  id: string;
  name: string;
  handle: string;
  city: string;
}

export interface UploadResult {
  success: boolean;
  image_id: string;
  url: string;
  user_id: string;
}

export interface BackendStats {
  since: number;
  api: { total: number; user: number; image: number; batch: number; batchIds: number; upload: number; default: number; failed: number; refused: number };
  apiByUser: Record<string, number>;
  /** The user ids of each batch call, in order. */
  batches: string[][];
  /** The user id of each single-user call, in order. */
  singles: string[];
  images: { requests: number; ok: number; bytes: number; notModified: number; forbidden: number; notFound: number; preflight: number; failed: number; refused: number };
  imagesById: Record<string, number>;
  control: BackendControl;
  storageOrigin: string;
}

export interface BackendControl {
  latencyMs: number;
  storageLatencyMs: number;
  jitterMs: number;
  failRate: number;
  offline: boolean;
  urlLifetimeSec: number;
  clockOffsetMs: number;
  cors: boolean;
}

const OFFLINE_KEY = "orbit:offline";

/** The tab's sessionStorage, or undefined where storage is switched off (then it is null or throws). */
function session(): Storage | undefined {
  try {
    return window.sessionStorage ?? undefined;
  } catch {
    return undefined;
  }
}

let offline = session()?.getItem(OFFLINE_KEY) === "1";
const offlineListeners = new Set<() => void>();

/** Whether the avatar network (image API and object storage) is cut off for this tab. */
export function isOffline(): boolean {
  return offline;
}

export function setOffline(value: boolean): void {
  offline = value;
  if (value) session()?.setItem(OFFLINE_KEY, "1");
  else session()?.removeItem(OFFLINE_KEY);
  for (const l of offlineListeners) l();
}

export function subscribeOffline(listener: () => void): () => void {
  offlineListeners.add(listener);
  return () => offlineListeners.delete(listener);
}

/** The `fetch` the cache uses: rejects like a dropped connection while the switch is on. */
export const cacheFetch: typeof fetch = (input, init) =>
  offline ? Promise.reject(new TypeError("Failed to fetch (offline mode)")) : fetch(input, init);

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) {
    const body = await res.text();
    throw new Error(`${res.status} ${res.statusText}: ${body.slice(0, 200)}`);
  }
  return (await res.json()) as T;
}

export const getMe = () => fetch("/api/me").then((r) => json<User>(r));
export const getFriends = () => fetch("/api/friends").then((r) => json<User[]>(r));
export const getDiscover = (page: number) => fetch(`/api/discover?page=${page}`).then((r) => json<User[]>(r));

/** Uploads a picture for `userId`; the backend answers with the new image id. */
export async function uploadPicture(userId: string, image: Blob): Promise<UploadResult> {
  if (offline) throw new TypeError("You are offline: the upload needs the network.");
  const res = await fetch(`/images/upload?userId=${encodeURIComponent(userId)}`, {
    method: "POST",
    headers: { "Content-Type": image.type || "application/octet-stream" },
    body: image,
  });
  return json<UploadResult>(res);
}

export const backendStats = () => fetch("/__stats").then((r) => json<BackendStats>(r));
export const resetBackendStats = () => fetch("/__stats/reset", { method: "POST" }).then((r) => json<{ success: boolean }>(r));
export const setBackendControl = (patch: Partial<BackendControl>) =>
  fetch("/__control", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(patch) }).then((r) =>
    json<{ control: BackendControl }>(r),
  );
