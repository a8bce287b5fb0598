//! The JS the page's class calls, in one snippet: each helper builds in one call what would take
//! many calls across the boundary from Rust (an answer, a Performance entry, the devtools root).
//! One snippet rather than one per helper: each is one more module a page without a bundler
//! requests before the `.wasm` (the package inlines them, test pages load them as they are).

use js_sys::Object;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
// Every `get` answers one of these: built by one call into JS rather than seven property
// writes (each a call across the boundary, with its name made into a new JS string). The
// preview is rendered the first time `placeholder` is read (`render(thumbhash)`, the cache's
// renderer, which keeps what it rendered), then kept on the object: a list of 100 answered
// after a reload costs no rendering unless the app reads the previews. The accessor is written
// in the literal, with a setter: an app that assigns `placeholder` before ever reading it (a
// getter alone would throw in strict code) keeps its value, and nothing is rendered.
export function picture(userId, imageId, handle, source, stale, loadMs, thumbhash, render) {
  const url = shownUrl(handle);
  if (thumbhash === undefined) return { userId, imageId: imageId ?? null, url, source, stale, loadMs };
  return {
    userId, imageId: imageId ?? null, url, source, stale, loadMs,
    get placeholder() {
      const value = render(thumbhash);
      Object.defineProperty(this, 'placeholder', { value, configurable: true, enumerable: true, writable: true });
      return value;
    },
    set placeholder(value) {
      Object.defineProperty(this, 'placeholder', { value, configurable: true, enumerable: true, writable: true });
    },
  };
}

// One call across the boundary per get (building the options object from Rust took seven). The
// entry is queued with its times and written in the next task, with the others queued by then.
export function measureGet(performance, name, userId, stale, ms) {
  const end = performance.now();
  const queue = (measureGet.queue ??= []);
  if (queue.push([name, end - ms, end, userId, stale]) > 1) return;
  setTimeout(() => {
    for (const [name, start, end, userId, stale] of queue.splice(0)) {
      try {
        performance.measure(name, { start, end, detail: { userId, stale } });
      } catch {}
    }
  });
}

// `globalThis.__AVATAR_CACHE__`, made on first use: `version`, `caches` by namespace, and the
// dispatching `stats(namespace?)` / `diagnose(namespace?)`: the named cache's, the only cache's,
// or every cache's by namespace. Written in the glue: made at every `open`, and building the two
// functions from Rust meant compiling their source with `new Function` each time.
export function devtoolsRoot(version) {
  const existing = globalThis.__AVATAR_CACHE__;
  if (existing && typeof existing === 'object' && existing.caches && typeof existing.caches === 'object') return existing;
  const caches = {};
  const dispatch = (method) => (namespace) => {
    const names = Object.keys(caches);
    if (namespace !== undefined) return caches[namespace] ? caches[namespace][method]() : undefined;
    if (names.length === 1) return caches[names[0]][method]();
    return Object.fromEntries(names.map((n) => [n, caches[n][method]()]));
  };
  const root = { caches, version, stats: dispatch('stats'), diagnose: dispatch('diagnose') };
  globalThis.__AVATAR_CACHE__ = root;
  return root;
}

// Pictures' `data:` URLs (`src/layers/object_url.rs`), kept here (`dataUrl.urls`) under the
// short handle the .wasm holds instead: a 12 KB URL is made once from the bytes, with no call
// into the browser process (unlike a Blob or an object URL), and never copied into the .wasm or
// out of it again. A handle is itself an inert `data:` URL; `picture` hands out the URL, never
// the handle. (State lives on the function: the package inlines only `export function`s.)
export function dataUrl(bytes, mime) {
  let base64;
  if (typeof bytes.toBase64 === "function") base64 = bytes.toBase64();
  else {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    base64 = btoa(text);
  }
  dataUrl.urls ??= new Map();
  dataUrl.made = (dataUrl.made ?? 0) + 1;
  const handle = "data:,avatar-cache#" + dataUrl.made;
  dataUrl.urls.set(handle, `data:${mime};base64,${base64}`);
  return handle;
}

export function dropDataUrl(handle) {
  dataUrl.urls?.delete(handle);
}

export function shownUrl(url) {
  return url.startsWith("data:,avatar-cache#") ? dataUrl.urls?.get(url) ?? url : url;
}

// Every record of one namespace and version, read in one call, as `[users, texts]`
// (`src/layers/local.rs`, `texts`): a service worker that starts holding nothing asks every open
// page for its records, and reading and decoding 10,000 records in Rust took 200–290 ms of each
// page's main thread. Unchecked beyond their `userId` and `fetchedAt`: the worker checks what it
// keeps. Here rather than in a snippet of its own: the test runner's page stops loading in
// Chromium with a fifth snippet.
export function localTexts(prefix, suffix) {
  const users = [];
  const texts = [];
  try {
    const storage = globalThis.localStorage;
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key === null || !key.startsWith(prefix) || !key.endsWith(suffix)) continue;
      const text = storage.getItem(key);
      let record = null;
      try { record = JSON.parse(text); } catch {}
      if (record && typeof record.userId === "string" && typeof record.fetchedAt === "number") {
        users.push(record.userId);
        texts.push(text);
      }
    }
  } catch {}
  return [users, texts];
}
"#)]
extern "C" {
    /// See `localTexts` above: `[users, texts]`.
    #[wasm_bindgen(js_name = localTexts)]
    pub(crate) fn local_texts(prefix: &str, suffix: &str) -> js_sys::Array;

    /// See `dataUrl` above: the handle of the `data:` URL of `bytes`.
    #[wasm_bindgen(js_name = dataUrl)]
    pub(crate) fn data_url(bytes: &js_sys::Uint8Array, mime: &str) -> String;

    /// Forgets the `data:` URL behind `handle`.
    #[wasm_bindgen(js_name = dropDataUrl)]
    pub(crate) fn drop_data_url(handle: &str);

    /// The URL an app is handed for `url`: the `data:` URL behind a handle, else `url`.
    #[wasm_bindgen(js_name = shownUrl)]
    pub(crate) fn shown_url(url: &str) -> String;

    #[wasm_bindgen(js_name = picture)]
    pub(super) fn new_picture(
        user_id: &str,
        image_id: Option<&str>,
        url: &str,
        source: &JsValue,
        stale: bool,
        load_ms: f64,
        thumbhash: Option<&str>,
        render: &JsValue,
    ) -> JsValue;

    #[wasm_bindgen(js_name = measureGet)]
    pub(super) fn measure_get(
        performance: &web_sys::Performance,
        name: &JsValue,
        user_id: &str,
        stale: bool,
        ms: f64,
    );

    #[wasm_bindgen(js_name = devtoolsRoot, catch)]
    pub(super) fn devtools_root_js(version: &str) -> Result<Object, JsValue>;
}
