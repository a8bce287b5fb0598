//! ThumbHash previews through the hierarchy, natively over the in-memory layers: a download or an
//! upload leaves a hash in the stored record, the next page load has `placeholder` for every user
//! seen before without a get, a hash from the backend's answer is used instead of decoding, and a
//! malformed hash or an undecodable image costs the preview and nothing else.
#![cfg(not(target_arch = "wasm32"))]

use std::rc::Rc;

use avatar_cache::clock::ManualClock;
use avatar_cache::hierarchy::{Hierarchy, Layers, Upload};
use avatar_cache::layers::in_memory::InMemoryThumbnails;
use avatar_cache::layers::in_memory::{
    fake_png, Bytes, FakeObjectUrls, InMemoryImageStore, InMemoryRecordStore, ScriptedBackend,
    TestRuntime,
};
use avatar_cache::layers::{ImageStore, RecordStore, Thumbnails};
use avatar_cache::policy::placeholder::{hash_rgba, render_data_url, DATA_URL_PREFIX};
use avatar_cache::{Config, Source};

const START: f64 = 1_795_827_600_000.0;

/// One browser: storage, backend and decoder shared by the pages it opens.
struct Browser {
    clock: ManualClock,
    runtime: TestRuntime,
    backend: ScriptedBackend,
    local: InMemoryRecordStore,
    images: InMemoryImageStore,
    urls: FakeObjectUrls,
    thumbnails: InMemoryThumbnails,
    config: Rc<Config>,
}

impl Browser {
    fn new() -> Self {
        let clock = ManualClock::new(START);
        let config = Rc::new(Config::from_json(serde_json::json!({})).unwrap());
        Browser {
            runtime: TestRuntime::new(clock.clone()),
            backend: ScriptedBackend::new(Rc::new(clock.clone()), 3600),
            local: InMemoryRecordStore::new(&config, Rc::new(clock.clone())),
            images: InMemoryImageStore::new(&config),
            urls: FakeObjectUrls::default(),
            thumbnails: InMemoryThumbnails::default(),
            clock,
            config,
        }
    }

    /// A page load: new memory, same storage.
    fn page(&self) -> Hierarchy<Bytes> {
        let cache = Hierarchy::new(
            self.config.clone(),
            Layers {
                local: Some(Rc::new(self.local.clone()) as Rc<dyn RecordStore>),
                images: Some(Rc::new(self.images.clone()) as Rc<dyn ImageStore<Bytes>>),
                backend: Rc::new(self.backend.clone()),
                urls: Rc::new(self.urls.clone()),
                locks: None,
                runtime: Rc::new(self.runtime.clone()),
                clock: Rc::new(self.clock.clone()),
            },
        );
        cache.set_thumbnails(Some(
            Rc::new(self.thumbnails.clone()) as Rc<dyn Thumbnails<Bytes>>
        ));
        cache
    }

    fn get(&self, cache: &Hierarchy<Bytes>, user: &str) -> avatar_cache::Picture {
        let (c, user) = (cache.clone(), user.to_string());
        let picture = self
            .runtime
            .block_on(async move { c.get(&user, None).await.unwrap() });
        self.runtime.settle();
        picture
    }

    fn user(&self, user: &str, image: &str) {
        self.backend
            .set_user(user, Some(image), Some(fake_png(image, 600)));
    }

    /// The raw localStorage entry of `user`.
    fn raw_record(&self, user: &str) -> String {
        let key = self
            .local
            .raw_keys()
            .into_iter()
            .find(|k| k.contains(&format!(":{user}:")))
            .expect("a stored record");
        self.local.raw(&key).unwrap()
    }

    fn errors(&self, cache: &Hierarchy<Bytes>) -> u64 {
        let s = cache.stats();
        s.memory.errors + s.local.errors + s.indexeddb.errors + s.network.errors
    }
}

fn a_hash() -> String {
    hash_rgba(8, 8, &[40, 120, 200, 255].repeat(64)).unwrap()
}

#[test]
fn after_a_reload_every_user_seen_before_has_a_placeholder_before_any_get() {
    let browser = Browser::new();
    let users: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    for (i, u) in users.iter().enumerate() {
        browser.user(u, &format!("img{i}"));
    }
    let first = browser.page();
    for u in &users {
        browser.get(&first, u);
    }
    assert!(browser.raw_record("u7").contains("\"thumbhash\":"));
    first.close();

    let reloaded = browser.page();
    let before = browser.backend.counts().api_calls();
    for u in &users {
        assert!(reloaded.peek(u).is_none(), "memory is empty after a reload");
        let url = reloaded
            .placeholder(u)
            .unwrap_or_else(|| panic!("{u} has no preview"));
        assert!(url.starts_with(DATA_URL_PREFIX));
        assert!(url.len() < 2_200);
    }
    assert_eq!(
        browser.backend.counts().api_calls(),
        before,
        "no request for a preview"
    );
    assert!(reloaded.placeholder("never-seen").is_none());
    // Different images, different previews; the same call again gives the same URL.
    assert_ne!(reloaded.placeholder("u1"), reloaded.placeholder("u2"));
    assert_eq!(reloaded.placeholder("u1"), reloaded.placeholder("u1"));
}

#[test]
fn the_hash_is_computed_behind_the_answer_and_then_carried_by_pictures() {
    let browser = Browser::new();
    browser.user("ann", "a1");
    let cache = browser.page();
    let (c, runtime) = (cache.clone(), browser.runtime.clone());
    let first = runtime.block_on(async move { c.get("ann", None).await.unwrap() });
    assert_eq!(first.source, Source::NETWORK);
    browser.runtime.settle();
    assert_eq!(browser.thumbnails.decodes(), 1);
    let again = browser.get(&cache, "ann");
    assert_eq!(again.source, Source::MEMORY);
    assert!(again
        .placeholder()
        .as_deref()
        .unwrap()
        .starts_with(DATA_URL_PREFIX));
    assert_eq!(
        cache.peek("ann").unwrap().placeholder(),
        again.placeholder()
    );
    assert_eq!(cache.placeholder("ann"), again.placeholder());
}

#[test]
fn a_hash_in_the_backend_answer_is_used_instead_of_decoding() {
    let browser = Browser::new();
    browser.user("bob", "b1");
    browser.backend.set_thumbhash("b1", &a_hash());
    let cache = browser.page();
    let picture = browser.get(&cache, "bob");
    assert_eq!(browser.thumbnails.decodes(), 0);
    assert_eq!(picture.placeholder(), render_data_url(&a_hash()));
    assert_eq!(cache.placeholder("bob"), render_data_url(&a_hash()));
    assert!(browser.raw_record("bob").contains(&a_hash()));
}

#[test]
fn a_malformed_hash_in_the_backend_answer_is_ignored() {
    for bad in ["garbage!", "AAAA", &a_hash()[..10]] {
        let browser = Browser::new();
        browser.user("cat", "c1");
        browser.backend.set_thumbhash("c1", bad);
        let cache = browser.page();
        let picture = browser.get(&cache, "cat");
        assert_eq!(picture.source, Source::NETWORK);
        assert!(picture.url.starts_with("blob:"), "{}", picture.url);
        assert!(!browser.raw_record("cat").contains(bad));
        // Hashed from the bytes instead.
        assert_eq!(browser.thumbnails.decodes(), 1);
        assert!(cache.placeholder("cat").is_some());
        assert_eq!(browser.errors(&cache), 0);
    }
}

#[test]
fn a_malformed_hash_read_from_storage_costs_the_preview_not_the_record() {
    let browser = Browser::new();
    browser.user("dan", "d1");
    let first = browser.page();
    browser.get(&first, "dan");
    let preview = first.placeholder("dan");
    first.close();
    // The image's row keeps the hash too: take it away, so only the record's is left.
    browser.images.clear_thumbhash("d1");
    let raw = browser.raw_record("dan");
    let key = browser
        .local
        .raw_keys()
        .into_iter()
        .find(|k| k.contains(":dan:"))
        .unwrap();
    for bad in [
        "\"garbage\"",
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",
        "\"\"",
    ] {
        let start = raw.find("\"thumbhash\":").unwrap() + "\"thumbhash\":".len();
        let end =
            start + raw[start..].find('"').unwrap() + 1 + raw[start + 1..].find('"').unwrap() + 1;
        let corrupted = format!("{}{}{}", &raw[..start], bad, &raw[end..]);
        browser.local.set_raw(&key, &corrupted);
        let page = browser.page();
        assert!(page.placeholder("dan").is_none(), "{bad}");
        let calls = browser.backend.counts().api_calls();
        let picture = browser.get(&page, "dan");
        assert_eq!(
            picture.source,
            Source::INDEXED_DB,
            "the record still answers"
        );
        assert_eq!(browser.backend.counts().api_calls(), calls);
        assert_eq!(browser.errors(&page), 0);
        // The image, read from IndexedDB, was hashed again; the row has the hash back.
        assert_eq!(page.placeholder("dan"), preview);
        assert!(browser.images.thumbhash("d1").is_some());
        page.close();
        browser.images.clear_thumbhash("d1");
    }
}

#[test]
fn the_hash_is_kept_in_the_image_row_too() {
    let browser = Browser::new();
    browser.user("ann", "a1");
    browser.user("bob", "b1");
    browser.backend.set_thumbhash("b1", &a_hash());
    let cache = browser.page();
    browser.get(&cache, "ann");
    browser.get(&cache, "bob");
    let hashed = browser.images.thumbhash("a1").expect("the computed hash");
    assert!(browser.raw_record("ann").contains(&hashed));
    assert_eq!(
        browser.images.thumbhash("b1").as_deref(),
        Some(a_hash().as_str()),
        "the backend's hash"
    );
}

#[test]
fn a_download_s_row_is_written_once_carrying_its_hash() {
    // The transactions of one download's get, without a decoder (no hashing at all)...
    let plain = Browser::new();
    plain.user("ann", "a1");
    let cache = plain.page();
    cache.set_thumbnails(None);
    plain.get(&cache, "ann");
    let without_hashing = plain.images.transactions.get();
    assert!(plain.images.thumbhash("a1").is_none());

    // ...and with one: the same count, the row written once with its hash.
    let browser = Browser::new();
    browser.user("ann", "a1");
    let cache = browser.page();
    browser.get(&cache, "ann");
    let hash = browser
        .images
        .thumbhash("a1")
        .expect("the row has the hash");
    assert!(browser.raw_record("ann").contains(&hash));
    assert_eq!(
        browser.images.transactions.get(),
        without_hashing,
        "hashing adds no IndexedDB transaction"
    );
}

#[test]
fn a_hash_slower_than_the_row_write_waits_is_written_into_the_row_after() {
    let browser = Browser::new();
    browser.user("bea", "b1");
    let cache = browser.page();
    browser.thumbnails.hold();
    browser.get(&cache, "bea");
    assert!(
        !browser.images.contains("b1"),
        "the write waits for the hash"
    );
    // The decoder is stuck past the wait: the row is written without the hash...
    browser.runtime.advance(100.0);
    assert!(browser.images.contains("b1"));
    assert!(browser.images.thumbhash("b1").is_none());
    // ...and gets it once it comes.
    browser.thumbnails.release();
    browser.runtime.settle();
    browser.runtime.advance(1_000.0);
    assert!(browser.images.thumbhash("b1").is_some());
    assert!(cache.placeholder("bea").is_some());
}

#[test]
fn an_undecodable_download_is_written_at_once_without_a_hash() {
    let browser = Browser::new();
    browser
        .backend
        .set_user("cat", Some("c1"), Some(fake_png("undecodable", 600)));
    let cache = browser.page();
    browser.get(&cache, "cat");
    assert!(browser.images.contains("c1"));
    assert!(browser.images.thumbhash("c1").is_none());
    assert!(cache.placeholder("cat").is_none());
}

#[test]
fn a_record_without_its_hash_takes_the_one_in_the_image_row() {
    let browser = Browser::new();
    browser.user("cy", "c1");
    let first = browser.page();
    browser.get(&first, "cy");
    let preview = first.placeholder("cy").unwrap();
    first.close();
    // The record lost its hash (written by older code, or by a tab whose localStorage was full).
    let key = browser
        .local
        .raw_keys()
        .into_iter()
        .find(|k| k.contains(":cy:"))
        .unwrap();
    let raw = browser.raw_record("cy");
    let start = raw.find(",\"thumbhash\":").unwrap();
    let end = start + 1 + raw[start + 1..].find(',').unwrap_or(raw.len() - start - 2);
    let without = format!("{}{}", &raw[..start], &raw[end..]);
    assert!(!without.contains("thumbhash"), "{without}");
    browser.local.set_raw(&key, &without);

    let page = browser.page();
    assert_eq!(
        page.placeholder("cy").as_deref(),
        Some(preview.as_str()),
        "before any get"
    );
    let picture = browser.get(&page, "cy");
    assert_eq!(picture.source, Source::INDEXED_DB);
    assert_eq!(picture.placeholder().as_deref(), Some(preview.as_str()));
    assert_eq!(browser.thumbnails.decodes(), 1, "not decoded again");
    assert!(
        browser.raw_record("cy").contains("\"thumbhash\":"),
        "written back into the record"
    );
}

#[test]
fn a_record_lost_from_local_storage_still_has_its_preview_from_the_image_row() {
    let browser = Browser::new();
    browser.user("di", "d1");
    let first = browser.page();
    browser.get(&first, "di");
    let preview = first.placeholder("di").unwrap();
    first.close();
    RecordStore::clear(&browser.local).unwrap();

    let page = browser.page();
    assert!(
        page.placeholder("di").is_none(),
        "no record names the image yet"
    );
    let downloads = browser.backend.counts().downloads;
    let picture = browser.get(&page, "di");
    assert_eq!(
        picture.source,
        Source::NETWORK,
        "the record comes from the backend"
    );
    assert_eq!(
        browser.backend.counts().downloads,
        downloads,
        "the bytes from IndexedDB"
    );
    assert_eq!(
        picture.placeholder().as_deref(),
        Some(preview.as_str()),
        "on the first answer"
    );
    assert_eq!(browser.thumbnails.decodes(), 1, "not decoded again");
    page.close();
    assert_eq!(browser.page().placeholder("di"), Some(preview));
}

#[test]
fn rows_stored_before_previews_get_a_hash_when_read() {
    let browser = Browser::new();
    browser.user("ed", "e1");
    let first = browser.page();
    first.set_thumbnails(None);
    browser.get(&first, "ed");
    first.close();
    assert!(browser.images.thumbhash("e1").is_none());
    assert!(!browser.raw_record("ed").contains("thumbhash"));

    let page = browser.page();
    assert!(page.placeholder("ed").is_none());
    assert_eq!(browser.get(&page, "ed").source, Source::INDEXED_DB);
    assert_eq!(browser.thumbnails.decodes(), 1);
    assert!(browser.images.thumbhash("e1").is_some());
    assert!(browser.raw_record("ed").contains("\"thumbhash\":"));
    assert!(page.placeholder("ed").is_some());
}

#[test]
fn an_image_that_cannot_be_decoded_has_no_preview_and_nothing_else_changes() {
    let browser = Browser::new();
    browser
        .backend
        .set_user("eve", Some("e1"), Some(fake_png("undecodable", 600)));
    let cache = browser.page();
    let picture = browser.get(&cache, "eve");
    assert_eq!(picture.source, Source::NETWORK);
    assert_eq!(browser.thumbnails.decodes(), 1);
    assert!(picture.placeholder().is_none());
    assert!(cache.placeholder("eve").is_none());
    assert!(!browser.raw_record("eve").contains("thumbhash"));
    assert_eq!(browser.get(&cache, "eve").source, Source::MEMORY);
    assert_eq!(browser.errors(&cache), 0);
}

#[test]
fn without_a_decoder_nothing_is_hashed_and_gets_are_unchanged() {
    let browser = Browser::new();
    browser.user("fay", "f1");
    let cache = browser.page();
    cache.set_thumbnails(None);
    let picture = browser.get(&cache, "fay");
    assert_eq!(picture.source, Source::NETWORK);
    assert!(cache.placeholder("fay").is_none());
    assert_eq!(browser.thumbnails.decodes(), 0);
}

#[test]
fn an_upload_is_hashed_and_a_revalidation_keeps_the_hash() {
    let browser = Browser::new();
    browser.user("gus", "g1");
    let cache = browser.page();
    browser.get(&cache, "gus");
    let old = cache.placeholder("gus").unwrap();
    // Upload a new picture.
    let bytes = fake_png("g2-new-bytes", 700);
    browser
        .backend
        .set_user("gus", Some("g2"), Some(bytes.clone()));
    let upload = Upload::check(Some("image/png"), &bytes, &browser.config, |_| {
        Ok(bytes.clone())
    })
    .unwrap();
    let c = cache.clone();
    browser.runtime.block_on(async move {
        c.set_picture("gus", Some("g2"), Some(upload))
            .await
            .unwrap()
    });
    browser.runtime.settle();
    let new = cache.placeholder("gus").unwrap();
    assert_ne!(new, old, "the uploaded image's preview");
    assert_eq!(browser.thumbnails.decodes(), 2);
    // An hour later the record is revalidated: same image, same hash, no new decode.
    browser.runtime.advance(3_600_000.0);
    browser.get(&cache, "gus");
    browser.runtime.settle();
    browser.get(&cache, "gus");
    assert_eq!(cache.placeholder("gus").unwrap(), new);
    assert_eq!(browser.thumbnails.decodes(), 2);
}

#[test]
fn clear_and_invalidate_forget_previews() {
    let browser = Browser::new();
    browser.user("hal", "h1");
    browser.user("ivy", "i1");
    let first = browser.page();
    browser.get(&first, "hal");
    browser.get(&first, "ivy");
    first.close();
    let page = browser.page();
    assert!(page.placeholder("hal").is_some());
    page.invalidate("hal").unwrap();
    assert!(page.placeholder("hal").is_none());
    assert!(page.placeholder("ivy").is_some());
    let c = page.clone();
    browser.runtime.block_on(async move { c.clear().await });
    assert!(page.placeholder("ivy").is_none());
    page.close();
    assert!(browser.page().placeholder("ivy").is_none());
}

#[test]
fn a_hash_never_writes_back_a_record_local_storage_no_longer_holds() {
    let browser = Browser::new();
    browser.user("jo", "j1");
    let cache = browser.page();
    browser.thumbnails.hold();
    browser.get(&cache, "jo");
    assert!(
        cache.placeholder("jo").is_none(),
        "the hash has not landed yet"
    );
    // Another tab (or an eviction) removed the record before the hash landed.
    RecordStore::remove(&browser.local, "jo").unwrap();
    browser.thumbnails.release();
    browser.runtime.settle();
    assert_eq!(browser.thumbnails.decodes(), 1);
    assert!(
        browser.local.raw_keys().is_empty(),
        "{:?}",
        browser.local.raw_keys()
    );
    // Memory's record still got it.
    assert!(cache.placeholder("jo").is_some());
}

#[test]
fn a_hash_lands_only_in_a_record_that_still_names_its_image() {
    // The preview of k1, from a browser of its own.
    let other = Browser::new();
    other.user("kim", "k1");
    let other_cache = other.page();
    other.get(&other_cache, "kim");
    let k1_preview = other_cache.placeholder("kim").unwrap();

    let browser = Browser::new();
    browser.user("kim", "k1");
    let cache = browser.page();
    browser.thumbnails.hold();
    browser.get(&cache, "kim");
    // The user moves to k2 while k1 is still being hashed, and k2's hash is held back too.
    browser.user("kim", "k2");
    cache.invalidate("kim").unwrap();
    assert_eq!(browser.get(&cache, "kim").image_id.as_deref(), Some("k2"));
    browser.thumbnails.release();
    browser.runtime.settle();
    assert_eq!(browser.thumbnails.decodes(), 2);
    let shown = cache.placeholder("kim").unwrap();
    assert_ne!(shown, k1_preview, "k1's hash never lands in k2's record");
    assert!(browser.raw_record("kim").contains("\"imageId\":\"k2\""));
    assert!(!browser.raw_record("kim").contains(
        &other.raw_record("kim")[other.raw_record("kim").find("\"thumbhash\"").unwrap()..]
    ));
}
