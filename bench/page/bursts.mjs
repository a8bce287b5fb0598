// Bursts of 100 gets of stored users in one page (the runner, ../bursts.mjs, navigates): what the
// cache's own work costs per get, without a reload's noise. Each burst opens the cache (memory
// empty), waits 50 ms, times 100 concurrent gets of the users the journey's warm-up visit stored
// (localStorage records, IndexedDB images), and closes it. Module compiled once, engine warm:
// the reload journey (journey.html) is the figure users see; this one is for A/B of a change to
// the read path, where a reload's ±15 % hides a millisecond.
//
//   bursts.html?bursts=N&users=100&visit=K    posts [ms of each burst] to /__result?visit=K

const params = new URLSearchParams(location.search);
const BURSTS = Number(params.get("bursts") ?? 15);
const USERS = Number(params.get("users") ?? 100);
// The journey's users and config (page/journey.mjs): its warm-up visit stored them.
const ids = Array.from({ length: USERS }, (_, i) => `j${String(i).padStart(3, "0")}`);
const CONFIG = { apiBase: "/images", batchEndpoint: "/images/batch", namespace: "journey" };
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function bursts() {
  const { AvatarCache } = await import("/pkg/index.js");
  const times = [];
  for (let i = 0; i < BURSTS; i++) {
    const cache = await AvatarCache.open(CONFIG);
    await sleep(50);
    const t0 = now();
    const pictures = await Promise.all(ids.map((u) => cache.get(u)));
    times.push(now() - t0);
    const notStored = pictures.filter((p) => p.source !== "indexeddb").length;
    cache.close();
    if (notStored) throw new Error(`${notStored} of ${USERS} answers did not come from IndexedDB`);
    await sleep(30);
  }
  return { times };
}

bursts()
  .catch((e) => ({ error: String(e?.stack ?? e) }))
  .then((r) => fetch(`/__result?visit=${encodeURIComponent(params.get("visit"))}`, { method: "POST", body: JSON.stringify(r) }));
