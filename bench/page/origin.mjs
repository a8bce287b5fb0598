// What every bench page does before it stores its data set: empty localStorage and delete the
// origin's IndexedDB databases, the ones it names and every one the engine lists (Firefox ESR
// before 126 has no indexedDB.databases()). A database another tab keeps open is left as it is.

export async function deleteOriginStorage(known) {
  localStorage.clear();
  let names = known;
  try {
    names = [...new Set([...names, ...(await indexedDB.databases()).map((d) => d.name)])];
  } catch {}
  await Promise.all(names.map((name) => new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  })));
}
