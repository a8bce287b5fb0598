//! The hierarchy over in-memory layers, under a manual clock: every behaviour of DESIGN.md §2
//! checked by what `get` returned and what the backend counted.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use futures::future::join_all;
use serde_json::json;

use super::*;
use crate::clock::ManualClock;
use crate::error::Error;
use crate::layers::in_memory::{
    fake_png, Bytes, FakeObjectUrls, ImageMode, InMemoryImageStore, InMemoryLocks,
    InMemoryRecordStore, ScriptedBackend, TestRuntime,
};

const START: Millis = 1_795_827_600_000.0; // 2026-11-28T01:00:00Z
const MINUTE: Millis = 60_000.0;

/// One "browser": shared storage, locks and backend.
struct Browser {
    clock: ManualClock,
    runtime: TestRuntime,
    backend: ScriptedBackend,
    local: InMemoryRecordStore,
    images: InMemoryImageStore,
    urls: FakeObjectUrls,
    locks: InMemoryLocks,
}

/// A browser with one open page (`cache`); [`Harness::tab`] opens more.
struct Harness {
    browser: Browser,
    config: Rc<Config>,
    cache: Hierarchy<Bytes>,
}

impl std::ops::Deref for Harness {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl Browser {
    fn page(&self, config: &Rc<Config>, images: &InMemoryImageStore) -> Hierarchy<Bytes> {
        let local = config
            .local
            .enabled
            .then(|| Rc::new(self.local.view(config)) as Rc<dyn RecordStore>);
        self.cache(config, images, local)
    }

    /// A cache over this browser's images, backend, locks and clock, with `local` for records.
    fn cache(
        &self,
        config: &Rc<Config>,
        images: &InMemoryImageStore,
        local: Option<Rc<dyn RecordStore>>,
    ) -> Hierarchy<Bytes> {
        Hierarchy::new(
            config.clone(),
            Layers {
                local,
                images: config
                    .idb
                    .enabled
                    .then(|| Rc::new(images.clone()) as Rc<dyn ImageStore<Bytes>>),
                backend: Rc::new(self.backend.clone()),
                urls: Rc::new(self.urls.clone()),
                locks: Some(Rc::new(self.locks.clone())),
                runtime: Rc::new(self.runtime.clone()),
                clock: Rc::new(self.clock.clone()),
            },
        )
    }
}

impl Harness {
    fn new(config: serde_json::Value) -> Self {
        let clock = ManualClock::new(START);
        let config = Rc::new(Config::from_json(config).unwrap());
        let browser = Browser {
            runtime: TestRuntime::new(clock.clone()),
            backend: ScriptedBackend::new(Rc::new(clock.clone()), 3600),
            local: InMemoryRecordStore::new(&config, Rc::new(clock.clone())),
            images: InMemoryImageStore::new(&config),
            urls: FakeObjectUrls::default(),
            locks: InMemoryLocks::default(),
            clock,
        };
        let cache = browser.page(&config, &browser.images);
        Harness {
            browser,
            config,
            cache,
        }
    }

    /// Another page of the same origin (or this page after a reload): same storage, new memory.
    fn tab(&self) -> Hierarchy<Bytes> {
        self.browser.page(&self.config, &self.images)
    }

    /// The origin's service worker: the same IndexedDB images, locks and backend, records in a
    /// store of its own (a worker has no localStorage).
    fn worker(&self) -> Hierarchy<Bytes> {
        let records = InMemoryRecordStore::private(&self.config, Rc::new(self.clock.clone()));
        self.browser
            .cache(&self.config, &self.images, Some(Rc::new(records)))
    }

    /// The records `cache` hands to other contexts, collected.
    fn learned_by(&self, cache: &Hierarchy<Bytes>) -> Rc<RefCell<Vec<PictureRecord>>> {
        let learned = Rc::new(RefCell::new(Vec::new()));
        let into = learned.clone();
        cache.set_learn_hook(Some(Rc::new(move |r: &PictureRecord| {
            into.borrow_mut().push(r.clone())
        })));
        learned
    }

    fn tab_with(&self, config: serde_json::Value) -> Hierarchy<Bytes> {
        let config = Rc::new(Config::from_json(config).unwrap());
        self.browser
            .page(&config, &InMemoryImageStore::new(&config))
    }

    fn users(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let user = format!("u{i}");
                self.backend.set_user(
                    &user,
                    Some(&format!("img{i}")),
                    Some(fake_png(&user, 2_000)),
                );
                user
            })
            .collect()
    }

    fn get_in(&self, cache: &Hierarchy<Bytes>, user: &str) -> Picture {
        let (cache, user) = (cache.clone(), user.to_string());
        self.runtime
            .block_on(async move { cache.get(&user, None).await })
            .unwrap()
    }

    fn run<T: 'static>(&self, future: impl Future<Output = T> + 'static) -> T {
        self.runtime.block_on(future)
    }

    fn get(&self, user: &str) -> Picture {
        self.get_in(&self.cache, user)
    }

    fn api_calls(&self) -> u64 {
        self.backend.counts().api_calls()
    }

    fn downloads(&self) -> u64 {
        self.backend.counts().downloads
    }
}

fn defaults() -> serde_json::Value {
    json!({})
}

#[test]
fn first_get_comes_from_the_network_and_is_written_to_every_layer() {
    let h = Harness::new(defaults());
    h.users(1);
    let p = h.get("u0");
    assert_eq!(
        (p.source, p.stale, p.image_id.as_deref()),
        (Source::NETWORK, false, Some("img0"))
    );
    assert!(p.url.starts_with("blob:test/"));
    assert_eq!((h.api_calls(), h.downloads()), (1, 1));
    assert!(
        h.local.raw("profile_pic:local:u0:v1").is_some(),
        "record in localStorage"
    );
    assert!(h.images.contains("img0"), "bytes in IndexedDB");
}

#[test]
fn second_get_is_a_memory_hit_without_requests_and_peek_sees_it() {
    let h = Harness::new(defaults());
    h.users(1);
    assert!(h.cache.peek("u0").is_none(), "peek never goes below memory");
    let first = h.get("u0");
    let second = h.get("u0");
    assert_eq!(second.source, Source::MEMORY);
    assert_eq!(second.url, first.url);
    assert_eq!(h.cache.peek("u0").unwrap().url, first.url);
    assert_eq!((h.api_calls(), h.downloads()), (1, 1));
    let stats = h.cache.stats();
    assert_eq!(
        (stats.memory.hits, stats.network.hits, stats.gets()),
        (1, 1, 2)
    );
}

#[test]
fn reload_answers_from_storage_without_any_request() {
    let h = Harness::new(defaults());
    h.users(3);
    for u in ["u0", "u1", "u2"] {
        h.get(u);
    }
    let reloaded = h.tab();
    h.clock.advance(5.0 * MINUTE);
    let p = h.get_in(&reloaded, "u1");
    assert_eq!((p.source, p.stale), (Source::INDEXED_DB, false));
    assert_eq!(
        (h.api_calls(), h.downloads()),
        (3, 3),
        "no request after the reload"
    );
    assert_eq!(
        h.get_in(&reloaded, "u1").source,
        Source::MEMORY,
        "promoted to memory"
    );
}

#[test]
fn fifty_concurrent_gets_share_one_request() {
    let h = Harness::new(defaults());
    h.users(1);
    h.backend.set_latency(Rc::new(h.runtime.clone()), 120.0);
    let cache = h.cache.clone();
    let gets = join_all((0..50).map(move |_| {
        let cache = cache.clone();
        async move { cache.get("u0", None).await }
    }));
    let pictures = h.runtime.block_on(gets);
    assert!(pictures
        .iter()
        .all(|p| p.as_ref().unwrap().source == Source::NETWORK));
    let urls: std::collections::HashSet<_> = pictures
        .iter()
        .map(|p| p.as_ref().unwrap().url.clone())
        .collect();
    assert_eq!(urls.len(), 1);
    assert_eq!((h.api_calls(), h.downloads()), (1, 1));
    assert_eq!(h.cache.in_flight(), 0);
}

#[test]
fn memory_ttl_boundary_falls_through_to_a_fresh_local_record() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.clock.advance(30.0 * MINUTE - 1.0);
    assert_eq!(h.get("u0").source, Source::MEMORY);
    h.clock.advance(1.0);
    let p = h.get("u0");
    assert_eq!(
        (p.source, p.stale),
        (Source::LOCAL, false),
        "memory expired at 30 min, local lives 45"
    );
    assert_eq!(h.api_calls(), 1);
}

#[test]
fn stale_record_is_served_at_once_and_revalidated_in_the_background() {
    let h = Harness::new(defaults());
    h.users(1);
    let first = h.get("u0");
    let notified = Rc::new(RefCell::new(Vec::new()));
    let sink = notified.clone();
    h.cache.subscribe(Rc::new(move |u: Option<&str>| {
        sink.borrow_mut().push(u.unwrap_or("<all>").to_string())
    }));

    h.clock.advance(45.0 * MINUTE);
    let stale = h.get("u0");
    assert_eq!(
        (stale.source, stale.stale, stale.url.as_str()),
        (Source::MEMORY, true, first.url.as_str())
    );
    assert_eq!(h.api_calls(), 2, "revalidated in the background");
    assert_eq!(h.downloads(), 1, "same image: not downloaded again");
    assert!(
        notified.borrow().is_empty(),
        "unchanged picture: no notification"
    );
    assert_eq!(
        (h.get("u0").source, h.get("u0").stale),
        (Source::MEMORY, false)
    );

    h.backend
        .set_user("u0", Some("img-new"), Some(fake_png("new", 3_000)));
    h.clock.advance(45.0 * MINUTE);
    assert!(h.get("u0").stale);
    assert_eq!(
        *notified.borrow(),
        vec!["u0".to_string()],
        "changed picture: subscribers hear it"
    );
    let now = h.get("u0");
    assert_eq!(
        (now.image_id.as_deref(), now.source, now.stale),
        (Some("img-new"), Source::MEMORY, false)
    );
}

#[test]
fn a_revalidation_still_waiting_for_its_batch_at_a_logout_is_not_sent_nor_an_error() {
    let h = Harness::new(json!({"batchEndpoint": "/images/batch"}));
    h.users(1);
    h.get("u0");
    h.clock.advance(45.0 * MINUTE);
    // A window that is still open at the logout (a service worker's is 40 ms).
    h.cache.set_batch_window(40.0);
    let (cache, clear, batched) = (h.cache.clone(), h.cache.clone(), h.cache.clone());
    let stale = h.run(async move {
        // Answered at once; its revalidation, started behind the answer, waits for the batch
        // window when the logout comes.
        let stale = cache.get("u0", None).await.unwrap();
        let mut turns = 0;
        futures::future::poll_fn(|cx| {
            // A few turns for the revalidation to start and join the batch.
            turns += 1;
            if turns > 5 {
                return std::task::Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
        .await;
        assert_eq!(
            batched.inner.batcher.queued(),
            1,
            "the revalidation waits in the batch"
        );
        clear.clear().await;
        stale
    });
    h.runtime.advance(MINUTE);
    assert!(stale.stale);
    assert_eq!(
        h.api_calls(),
        1,
        "the ended session's revalidation was not sent"
    );
    let errors: Vec<String> = h
        .cache
        .stats()
        .recent_errors()
        .map(|e| e.reason.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn without_stale_while_revalidate_a_stale_record_waits_for_the_network() {
    let h = Harness::new(json!({"staleWhileRevalidate": false}));
    h.users(1);
    h.get("u0");
    h.clock.advance(46.0 * MINUTE);
    let p = h.get("u0");
    assert_eq!((p.source, p.stale), (Source::NETWORK, false));
    assert_eq!(
        (h.api_calls(), h.downloads()),
        (2, 1),
        "record refreshed, bytes reused"
    );
}

#[test]
fn stored_bytes_of_a_known_image_are_never_downloaded_again() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.cache.invalidate("u0").unwrap();
    let reloaded = h.tab();
    let p = h.get_in(&reloaded, "u0");
    assert_eq!(p.source, Source::NETWORK, "the record needed the API");
    assert_eq!(
        (h.api_calls(), h.downloads()),
        (2, 1),
        "the bytes came from IndexedDB"
    );
}

#[test]
fn version_bump_hides_every_old_entry() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    let bumped = h.tab_with(json!({"version": 2}));
    let p = h.get_in(&bumped, "u0");
    assert_eq!(p.source, Source::NETWORK);
    assert!(h.local.raw("profile_pic:local:u0:v2").is_some());
    assert_eq!(h.api_calls(), 2);
}

#[test]
fn expiring_presigned_url_of_an_opaque_image_is_refreshed_before_it_expires() {
    let h = Harness::new(defaults());
    h.users(1);
    h.backend.set_image_mode("img0", ImageMode::Opaque);
    let p = h.get("u0");
    assert_eq!(p.source, Source::NETWORK);
    assert!(
        p.url.starts_with("https://s3.test/avatars/img0?"),
        "no CORS: the remote URL is handed out"
    );
    assert!(h
        .local
        .raw("profile_pic:local:u0:v1")
        .unwrap()
        .contains("\"opaque\":true"));

    h.clock.advance(25.0 * MINUTE);
    assert_eq!(h.get("u0").url, p.url, "not yet within the refresh margin");
    assert_eq!(h.api_calls(), 1);
    h.clock.advance(26.0 * MINUTE); // 51 min: the 1 h URL expires within the 10 min margin
    let local = h.tab();
    let before = h.get_in(&local, "u0");
    assert_eq!(
        before.url, p.url,
        "answered at once with the still-valid URL"
    );
    assert_eq!(h.api_calls(), 2, "refreshed in the background");
    let after = h.get_in(&local, "u0");
    assert_ne!(after.url, p.url, "a newly signed URL");
    assert!(!after.url.is_empty());
}

#[test]
fn unreachable_network_answers_stale_then_default() {
    let h = Harness::new(json!({"staleWhileRevalidate": false}));
    h.users(2);
    h.get("u0");
    h.backend.set_offline(true);
    h.clock.advance(60.0 * MINUTE);
    let stale = h.get("u0");
    assert_eq!(
        (stale.source, stale.stale),
        (Source::MEMORY, true),
        "stale rather than nothing"
    );
    let unseen = h.get("u1");
    assert_eq!(
        (unseen.source, unseen.url.as_str()),
        (Source::Default, "/images/default_pfp.png")
    );
    let stats = h.cache.stats();
    assert!(stats.network.errors >= 2);
    assert!(stats
        .recent_errors()
        .any(|e| e.reason.starts_with("NETWORK")));
}

#[test]
fn html_served_as_a_picture_is_never_stored() {
    let h = Harness::new(defaults());
    h.users(1);
    h.backend.set_image_mode("img0", ImageMode::Html);
    let p = h.get("u0");
    assert_eq!(p.source, Source::Default);
    assert!(h.local.raw("profile_pic:local:u0:v1").is_none());
    assert!(!h.images.contains("img0"));
    assert_eq!(h.urls.live(), 0);
}

#[test]
fn broken_indexeddb_leaves_memory_local_and_network_working() {
    let h = Harness::new(defaults());
    h.users(2);
    h.images.set_failing(true);
    assert_eq!(h.get("u0").source, Source::NETWORK);
    assert_eq!(h.get("u0").source, Source::MEMORY);
    let reloaded = h.tab();
    let p = h.get_in(&reloaded, "u0");
    assert_eq!(
        p.source,
        Source::NETWORK,
        "bytes must be downloaded again, but no API call"
    );
    assert_eq!(h.api_calls(), 1);
    assert!(h.cache.stats().indexeddb.errors >= 1);
}

#[test]
fn corrupt_local_entry_is_a_miss_and_is_removed() {
    let h = Harness::new(defaults());
    h.users(1);
    h.local
        .set_raw("profile_pic:local:u0:v1", "{\"not\":\"a record\"}");
    let p = h.get("u0");
    assert_eq!(p.source, Source::NETWORK);
    assert!(
        h.local
            .raw("profile_pic:local:u0:v1")
            .unwrap()
            .contains("img0"),
        "replaced by a good record"
    );
    assert!(h
        .cache
        .stats()
        .recent_errors()
        .any(|e| e.reason.starts_with("CORRUPT_ENTRY")));
}

#[test]
fn full_local_storage_evicts_own_keys_and_never_foreign_ones() {
    let h = Harness::new(defaults());
    let users = h.users(20);
    h.local.set_raw("app:settings", &"x".repeat(1_000));
    h.local.set_quota(Some(2 * 1_020 + 2_600));
    for u in &users {
        assert_eq!(h.get(u).source, Source::NETWORK);
    }
    assert!(
        h.local.raw("app:settings").is_some(),
        "the app's own key survives"
    );
    assert!(h.local.raw_keys().len() > 1);
}

#[test]
fn prefetch_resolves_a_list_in_one_batch_call_and_reads_storage_in_one_transaction() {
    let h = Harness::new(json!({"batchEndpoint": "/images/batch"}));
    let users = h.users(100);
    let (c, u) = (h.cache.clone(), users.clone());
    let report = h.run(async move { c.prefetch(&u).await }).unwrap();
    assert_eq!(
        (
            report.requested,
            report.network,
            report.api_calls,
            report.downloads
        ),
        (100, 100, 1, 100)
    );
    assert_eq!(h.backend.counts().batch_calls, 1);

    let reloaded = h.tab();
    let before = h.images.transactions.get();
    let (c, u) = (reloaded.clone(), users.clone());
    let report = h.run(async move { c.prefetch(&u).await }).unwrap();
    assert_eq!(
        (report.indexeddb, report.api_calls, report.downloads),
        (100, 0, 0)
    );
    assert_eq!(
        h.images.transactions.get() - before,
        1,
        "one get_many for the whole list"
    );
    assert_eq!(h.get_in(&reloaded, "u42").source, Source::MEMORY);
}

#[test]
fn prefetch_without_a_batch_endpoint_asks_user_by_user_with_bounded_concurrency() {
    let h = Harness::new(json!({"batch": {"concurrency": 4}}));
    let users = h.users(30);
    let (c, u) = (h.cache.clone(), users.clone());
    let report = h.run(async move { c.prefetch(&u).await }).unwrap();
    assert_eq!((report.network, report.api_calls), (30, 30));
}

#[test]
fn set_picture_with_bytes_reaches_another_tab_without_a_download() {
    let h = Harness::new(defaults());
    h.users(1);
    let other = h.tab();
    h.get("u0");
    h.get_in(&other, "u0");
    other.set_change_hook(None);
    let relay = other.clone();
    h.cache.set_change_hook(Some(Rc::new(move |c: &Change| {
        relay.apply_remote_change(c)
    })));
    let heard = Rc::new(RefCell::new(0));
    let count = heard.clone();
    other.subscribe(Rc::new(move |_: Option<&str>| *count.borrow_mut() += 1));

    h.backend
        .set_user("u0", Some("img-up"), Some(fake_png("up", 1_500)));
    let body = fake_png("up", 1_500);
    let upload = Upload::check(Some("image/png"), &body.clone(), &h.config, |_| Ok(body)).unwrap();
    let c = h.cache.clone();
    h.run(async move { c.set_picture("u0", Some("img-up"), Some(upload)).await })
        .unwrap();
    assert_eq!(*heard.borrow(), 1, "the other tab heard of it");
    let seen = h.get_in(&other, "u0");
    assert_eq!(
        (seen.image_id.as_deref(), seen.source),
        (Some("img-up"), Source::INDEXED_DB)
    );
    assert_eq!(h.downloads(), 1, "nobody downloaded the upload");
}

#[test]
fn set_picture_keeps_nothing_from_an_image_answer_whose_url_is_not_http() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.backend
        .set_user("u0", Some("img-up"), Some(fake_png("up", 1_500)));
    h.backend
        .set_answer_url("img-up", "data:image/png;base64,iVBORw0KGgo=");
    let c = h.cache.clone();
    h.run(async move { c.set_picture("u0", Some("img-up"), None).await })
        .unwrap();
    let after = h.get("u0");
    assert!(
        h.backend
            .download_urls()
            .iter()
            .all(|u| u.starts_with("https://")),
        "only http(s) URLs are fetched: {:?}",
        h.backend.download_urls()
    );
    let kept = h.local.raw("profile_pic:local:u0:v1").unwrap_or_default();
    assert!(!kept.contains("data:"), "{kept}");
    assert!(after.url.starts_with("blob:test/"), "{after:?}");
}

#[test]
fn a_set_picture_answered_after_a_logout_changes_no_layer_and_tells_no_tab() {
    let h = Harness::new(defaults());
    h.users(1);
    let other = h.tab();
    h.get("u0");
    h.get_in(&other, "u0");
    let relay = other.clone();
    h.cache.set_change_hook(Some(Rc::new(move |c: &Change| {
        relay.apply_remote_change(c)
    })));
    h.backend
        .set_user("u0", Some("img-up"), Some(fake_png("up", 1_500)));
    h.backend.set_latency(Rc::new(h.runtime.clone()), 100.0);
    let (c, clear, runtime) = (h.cache.clone(), h.cache.clone(), h.runtime.clone());
    h.run(async move {
        futures::join!(
            async move { c.set_picture("u0", Some("img-up"), None).await.unwrap() },
            async move {
                // The logout comes while the image endpoint is asked.
                runtime.sleep(50.0).await;
                clear.clear().await;
            }
        )
    });
    assert!(h.local.raw("profile_pic:local:u0:v1").is_none());
    assert!(h.cache.peek("u0").is_none());
    assert!(
        other.memory_entries().is_empty(),
        "the ended session's record reached the other tab after its clear"
    );
    // Its next get would have downloaded the old session's picture and stored the record.
    h.backend.set_latency(Rc::new(h.runtime.clone()), 0.0);
    let before = h.api_calls();
    h.get_in(&other, "u0");
    assert_eq!(
        h.api_calls(),
        before + 1,
        "the other tab asks the backend again"
    );
}

#[test]
fn an_upload_still_being_written_when_a_logout_comes_is_not_left_in_indexeddb() {
    let h = Harness::new(defaults());
    h.images.set_put_delay(Rc::new(h.runtime.clone()), 20.0);
    h.backend
        .set_user("u0", Some("img-up"), Some(fake_png("up", 1_500)));
    let body = fake_png("up", 1_500);
    let upload = Upload::check(Some("image/png"), &body.clone(), &h.config, |_| Ok(body)).unwrap();
    let (c, clear, runtime) = (h.cache.clone(), h.cache.clone(), h.runtime.clone());
    h.run(async move {
        futures::join!(
            async move {
                c.set_picture("u0", Some("img-up"), Some(upload))
                    .await
                    .unwrap()
            },
            async move {
                runtime.sleep(5.0).await;
                clear.clear().await;
            }
        )
    });
    h.run(h.runtime.sleep(1_000.0));
    assert!(
        !h.images.contains("img-up"),
        "the upload was written into IndexedDB after clear()"
    );
    assert!(h.local.raw("profile_pic:local:u0:v1").is_none());
}

#[test]
fn a_stale_fallback_is_answered_with_a_live_url_after_a_failed_network_wait() {
    // No stale-while-revalidate: a stale picture waits for the network, which fails; meanwhile
    // another get pushes its image out of memory (one entry), revoking the URL found first.
    let h = Harness::new(json!({"staleWhileRevalidate": false, "memory": {"maxEntries": 1}}));
    let users = h.users(2);
    h.get(&users[0]);
    h.get(&users[1]);
    let reloaded = h.tab();
    h.clock.advance(46.0 * MINUTE);
    h.backend.set_offline(true);
    h.backend.set_latency(Rc::new(h.runtime.clone()), 100.0);
    let (a, b, runtime) = (reloaded.clone(), reloaded.clone(), h.runtime.clone());
    let (urls_a, urls_b) = (h.urls.clone(), h.urls.clone());
    let (first, second) = h.run(async move {
        futures::join!(
            async move {
                let p = a.get("u0", None).await.unwrap();
                (urls_a.is_revoked(&p.url), p)
            },
            async move {
                runtime.sleep(10.0).await;
                let p = b.get("u1", None).await.unwrap();
                (urls_b.is_revoked(&p.url), p)
            }
        )
    });
    for (revoked, picture) in [first, second] {
        assert!(
            picture.stale && picture.url.starts_with("blob:test/"),
            "{picture:?}"
        );
        assert!(!revoked, "{} was handed a revoked URL", picture.user_id);
    }
}

#[test]
fn a_load_that_asked_before_another_tabs_set_picture_does_not_bring_the_old_picture_back() {
    let h = Harness::new(defaults());
    h.users(1);
    let other = h.tab();
    let relay = other.clone();
    h.cache.set_change_hook(Some(Rc::new(move |c: &Change| {
        relay.apply_remote_change(c)
    })));
    h.backend.set_latency(Rc::new(h.runtime.clone()), 100.0);
    let body = fake_png("up", 1_500);
    let upload = Upload::check(Some("image/png"), &body.clone(), &h.config, |_| Ok(body)).unwrap();
    let (loading, uploading, runtime) = (other.clone(), h.cache.clone(), h.runtime.clone());
    let backend = h.backend.clone();
    h.run(async move {
        futures::join!(
            // The other tab asks the backend at 0 ms: the answer names the old image, whose
            // download ends at 200 ms, after the upload's record (150 ms) reached that tab.
            async move { loading.get("u0", None).await.unwrap() },
            async move {
                runtime.sleep(50.0).await;
                backend.set_user("u0", Some("img-up"), Some(fake_png("up", 1_500)));
                uploading
                    .set_picture("u0", Some("img-up"), Some(upload))
                    .await
                    .unwrap()
            }
        )
    });
    h.run(h.runtime.sleep(1_000.0));
    let kept = h.local.raw("profile_pic:local:u0:v1").unwrap();
    assert!(kept.contains("img-up"), "{kept}");
    let (in_other, _, _) = other.memory_entries().remove(0);
    assert_eq!(in_other.image_id.as_deref(), Some("img-up"));
    let reloaded = h.tab();
    assert_eq!(
        h.get_in(&reloaded, "u0").image_id.as_deref(),
        Some("img-up")
    );
}

#[test]
fn invalidate_and_clear_forget_and_revoke() {
    let h = Harness::new(defaults());
    let users = h.users(3);
    let first = h.get(&users[0]);
    for u in &users[1..] {
        h.get(u);
    }
    h.cache.invalidate("u0").unwrap();
    assert!(h.cache.peek("u0").is_none());
    assert!(h.local.raw("profile_pic:local:u0:v1").is_none());
    h.local.set_raw("app:token", "keep me");
    let c = h.cache.clone();
    h.run(async move { c.clear().await });
    assert!(h.urls.is_revoked(&first.url));
    assert_eq!(h.urls.live(), 0);
    assert_eq!(h.local.raw_keys(), vec!["app:token".to_string()]);
    assert!(!h.images.contains("img1"));
}

#[test]
fn object_urls_are_bounded_and_never_handed_out_after_revocation() {
    let h = Harness::new(json!({"memory": {"maxEntries": 2}}));
    let users = h.users(3);
    let first = h.get(&users[0]);
    h.get(&users[1]);
    h.get(&users[2]);
    assert!(
        h.urls.is_revoked(&first.url),
        "evicted from memory: revoked"
    );
    assert_eq!(h.urls.live(), 2);
    let again = h.get(&users[0]);
    assert_ne!(again.url, first.url);
    assert!(!h.urls.is_revoked(&again.url));
    assert_eq!(again.source, Source::INDEXED_DB);
}

#[test]
fn indexeddb_hits_are_touched_in_one_batched_transaction() {
    let h = Harness::new(defaults());
    let users = h.users(10);
    for u in &users {
        h.get(u);
    }
    h.runtime.advance(TOUCH_FLUSH_MS);
    let reloaded = h.tab();
    for u in &users {
        assert_eq!(h.get_in(&reloaded, u).source, Source::INDEXED_DB);
    }
    let before = h.images.transactions.get();
    h.runtime.advance(TOUCH_FLUSH_MS);
    assert_eq!(
        h.images.transactions.get() - before,
        1,
        "ten hits, one readwrite transaction"
    );
}

#[test]
fn writes_settled_waits_for_the_batched_uses_of_stored_images() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.runtime.advance(TOUCH_FLUSH_MS);
    // A reload: the stored image answers, and its use is batched for a moment later.
    let reloaded = h.tab();
    assert_eq!(h.get_in(&reloaded, "u0").source, Source::INDEXED_DB);
    let (before, started) = (h.images.transactions.get(), h.clock.now_ms());
    let waiting = reloaded.clone();
    h.run(async move { waiting.writes_settled().await });
    assert_eq!(
        h.images.transactions.get() - before,
        1,
        "the batched use was written before writes_settled resolved"
    );
    assert!(h.clock.now_ms() - started >= TOUCH_FLUSH_MS - 1.0);
    // Nothing waiting: at once.
    let (before, started) = (h.images.transactions.get(), h.clock.now_ms());
    let idle = reloaded.clone();
    h.run(async move { idle.writes_settled().await });
    assert_eq!(h.images.transactions.get(), before);
    assert_eq!(h.clock.now_ms(), started);
}

#[test]
fn a_known_image_id_is_answered_from_storage_before_any_request() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.cache.invalidate("u0").unwrap();
    let reloaded = h.tab();
    let p = h
        .run(async move { reloaded.get("u0", Some("img0")).await })
        .unwrap();
    assert_eq!(
        (p.source, p.image_id.as_deref()),
        (Source::INDEXED_DB, Some("img0"))
    );
    assert_eq!(h.downloads(), 1);
}

#[test]
fn a_new_image_id_from_the_app_overrides_a_stored_record() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.backend
        .set_user("u0", Some("img-b"), Some(fake_png("b", 900)));
    let c = h.cache.clone();
    let p = h
        .run(async move { c.get("u0", Some("img-b")).await })
        .unwrap();
    assert_eq!(
        (p.source, p.image_id.as_deref()),
        (Source::NETWORK, Some("img-b"))
    );
    assert_eq!(
        h.backend.counts().image_calls,
        1,
        "asked the image endpoint, not the user endpoint"
    );
}

#[test]
fn users_without_a_picture_get_the_default_from_the_cache() {
    let h = Harness::new(defaults());
    h.backend.set_user("nopic", None, None);
    let p = h.get("nopic");
    assert_eq!(
        (p.source, p.image_id.as_deref(), p.url.as_str()),
        (Source::NETWORK, None, "/images/default_pfp.png")
    );
    let reloaded = h.tab();
    assert_eq!(h.get_in(&reloaded, "nopic").source, Source::LOCAL);
    assert_eq!(h.api_calls(), 1);
}

#[test]
fn empty_ids_are_programmer_errors() {
    let h = Harness::new(defaults());
    let c = h.cache.clone();
    assert!(matches!(
        h.run(async move { c.get("", None).await }),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(h.cache.invalidate("").is_err());
    let c = h.cache.clone();
    assert!(h
        .run(async move { c.prefetch(&["a".into(), String::new()]).await })
        .is_err());
}

#[test]
fn the_workers_records_keep_no_url_from_a_pages_change_when_urls_are_not_stored() {
    let h = Harness::new(json!({"local": {"storeUrls": false}}));
    h.users(1);
    let records = InMemoryRecordStore::private(&h.config, Rc::new(h.clock.clone()));
    let worker = h
        .browser
        .cache(&h.config, &h.images, Some(Rc::new(records.clone())));
    h.get("u0");
    let (record, _, _) = h.cache.memory_entries().remove(0);
    assert!(record.remote_url.starts_with("https://s3.test/"));
    // What a page's setPicture or revalidation posts: the record with its presigned URL.
    worker.apply_remote_change(&Change::Updated(record));
    let kept = records.raw("profile_pic:local:u0:v1").unwrap();
    assert!(!kept.contains("s3.test"), "{kept}");
}

#[test]
fn closed_cache_answers_the_default_and_holds_no_urls() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.cache.close();
    assert_eq!(h.urls.live(), 0);
    assert_eq!(h.get("u0").source, Source::Default);
    // setPicture on a closed cache changes nothing and asks nothing.
    let before = h.api_calls();
    let kept = h.local.raw("profile_pic:local:u0:v1");
    let c = h.cache.clone();
    h.run(async move { c.set_picture("u0", Some("img9"), None).await })
        .unwrap();
    assert_eq!(h.api_calls(), before);
    assert_eq!(h.local.raw("profile_pic:local:u0:v1"), kept);
}

#[test]
fn tabs_asking_for_the_same_user_at_once_share_one_request() {
    let h = Harness::new(defaults());
    h.users(1);
    h.backend.set_latency(Rc::new(h.runtime.clone()), 150.0);
    let tabs: Vec<_> = (0..3).map(|_| h.tab()).collect();
    let gets = join_all(
        tabs.into_iter()
            .map(|tab| async move { tab.get("u0", None).await.unwrap() }),
    );
    let pictures = h.run(gets);
    let sources: Vec<Source> = pictures.iter().map(|p| p.source).collect();
    assert_eq!(
        sources.iter().filter(|s| **s == Source::NETWORK).count(),
        1,
        "{sources:?}"
    );
    assert_eq!(
        (h.api_calls(), h.downloads()),
        (1, 1),
        "one request served every tab"
    );
}

#[test]
fn components_mounting_together_share_one_batch_call() {
    let h = Harness::new(json!({"batchEndpoint": "/images/batch"}));
    let users = h.users(40);
    let cache = h.cache.clone();
    let gets = join_all(users.into_iter().map(move |u| {
        let cache = cache.clone();
        async move { cache.get(&u, None).await.unwrap() }
    }));
    let pictures = h.run(gets);
    assert!(pictures
        .iter()
        .all(|p| p.source == Source::NETWORK && p.image_id.is_some()));
    let counts = h.backend.counts();
    assert_eq!(
        (counts.batch_calls, counts.user_calls, counts.downloads),
        (1, 0, 40)
    );
}

/// Two gets 30 ms apart under a batch window of `window` ms; returns (batch, user) calls.
fn gets_30_ms_apart(window: Option<f64>) -> (u64, u64) {
    let h = Harness::new(json!({"batchEndpoint": "/images/batch"}));
    if let Some(ms) = window {
        h.cache.set_batch_window(ms);
    }
    let users = h.users(2);
    let first = spawn_get(&h, &h.cache, &users[0]);
    h.runtime.advance(30.0);
    let second = spawn_get(&h, &h.cache, &users[1]);
    for _ in 0..300 {
        h.runtime.advance(1.0);
    }
    assert!(first.borrow().is_some() && second.borrow().is_some());
    let counts = h.backend.counts();
    (counts.batch_calls, counts.user_calls)
}

#[test]
fn a_batch_window_waits_for_requests_that_keep_joining() {
    // A service worker's window: the second request, 30 ms after the first, joins its batch.
    assert_eq!(gets_30_ms_apart(Some(40.0)), (1, 0));
    // A page's one-turn window: each went out alone.
    assert_eq!(gets_30_ms_apart(None), (0, 2));
}

#[test]
fn a_stale_list_is_answered_from_storage_and_revalidated_in_one_batch_call() {
    let h = Harness::new(json!({"batchEndpoint": "/images/batch"}));
    let users = h.users(100);
    let (c, u) = (h.cache.clone(), users.clone());
    h.run(async move { c.prefetch(&u).await }).unwrap();
    h.clock.advance(8.0 * 60.0 * MINUTE);
    h.backend
        .set_user("u7", Some("img7-new"), Some(fake_png("new", 2_500)));
    let reloaded = h.tab();
    let heard = Rc::new(RefCell::new(Vec::new()));
    let sink = heard.clone();
    reloaded.subscribe(Rc::new(move |u: Option<&str>| {
        sink.borrow_mut().push(u.unwrap_or("<all>").to_string())
    }));
    let (c, u) = (reloaded.clone(), users.clone());
    let report = h.run(async move { c.prefetch(&u).await }).unwrap();
    assert_eq!(
        (report.indexeddb, report.api_calls),
        (100, 0),
        "answered before any request"
    );
    h.runtime.advance(1.0);
    assert_eq!(
        h.backend.counts().batch_calls,
        2,
        "one batch call revalidated the whole list"
    );
    assert_eq!(
        *heard.borrow(),
        vec!["u7".to_string()],
        "only the changed picture is announced"
    );
    assert_eq!(
        h.get_in(&reloaded, "u7").image_id.as_deref(),
        Some("img7-new")
    );
}

// ----- session boundaries -------------------------------------------------------------------

/// Starts `get(user)` in the background; its answer lands in the returned cell.
fn spawn_get(h: &Harness, cache: &Hierarchy<Bytes>, user: &str) -> Rc<RefCell<Option<Picture>>> {
    let out = Rc::new(RefCell::new(None));
    let (cache, user, sink) = (cache.clone(), user.to_string(), out.clone());
    h.runtime.spawn(
        async move {
            *sink.borrow_mut() = cache.get(&user, None).await.ok();
        }
        .boxed_local(),
    );
    out
}

#[test]
fn a_load_started_before_clear_leaves_nothing_behind() {
    let h = Harness::new(defaults());
    h.backend
        .set_user("u", Some("img-old"), Some(fake_png("old", 2_000)));
    h.backend.set_latency(Rc::new(h.runtime.clone()), 1_000.0);
    let first = spawn_get(&h, &h.cache, "u");
    h.runtime.advance(500.0);
    // Logout while the first load is under way; the next session sees another picture.
    let c = h.cache.clone();
    h.run(async move { c.clear().await });
    h.backend
        .set_user("u", Some("img-new"), Some(fake_png("new", 2_000)));
    let second = h.get("u");
    for _ in 0..10 {
        h.runtime.advance(1_000.0);
    }

    let first = first.borrow().clone().expect("the first get settled");
    assert_eq!(
        first.source,
        Source::Default,
        "the old load hands out nothing"
    );
    assert_eq!(second.image_id.as_deref(), Some("img-new"));
    assert_eq!(
        h.api_calls(),
        2,
        "the get after clear made its own API call"
    );
    assert!(
        !h.images.contains("img-old"),
        "nothing of the old load in IndexedDB"
    );
    assert_eq!(
        h.local
            .get("u")
            .unwrap()
            .and_then(|r| r.image_id)
            .as_deref(),
        Some("img-new")
    );
    assert_eq!(
        h.cache.peek("u").and_then(|p| p.image_id).as_deref(),
        Some("img-new")
    );
    assert_eq!(
        h.urls.live(),
        1,
        "only the new picture's object URL is live"
    );
    assert_eq!(h.cache.in_flight(), 0);
}

#[test]
fn a_revalidation_started_before_clear_writes_nothing() {
    let h = Harness::new(defaults());
    h.users(1);
    h.get("u0");
    h.clock.advance(46.0 * MINUTE);
    h.backend.set_latency(Rc::new(h.runtime.clone()), 1_000.0);
    let stale = h.get("u0");
    assert!(stale.stale, "answered stale, revalidating");
    let c = h.cache.clone();
    h.run(async move { c.clear().await });
    for _ in 0..10 {
        h.runtime.advance(1_000.0);
    }
    assert!(h.cache.peek("u0").is_none());
    assert!(h.local.get("u0").unwrap().is_none(), "nothing written back");
    assert_eq!(h.urls.live(), 0);
}

#[test]
fn a_load_started_before_close_hands_out_nothing() {
    let h = Harness::new(defaults());
    h.users(1);
    h.backend.set_latency(Rc::new(h.runtime.clone()), 1_000.0);
    let first = spawn_get(&h, &h.cache, "u0");
    h.runtime.advance(500.0);
    h.cache.close();
    for _ in 0..10 {
        h.runtime.advance(1_000.0);
    }
    assert_eq!(first.borrow().as_ref().unwrap().source, Source::Default);
    assert!(h.cache.peek("u0").is_none());
    assert_eq!(h.urls.live(), 0);
}

#[test]
fn memory_answers_count_as_uses_of_the_stored_image() {
    // 200 kB of images, 9 kB each (22 fit): u1 stays stored only if every use of it counts.
    let h = Harness::new(json!({ "idb": { "maxBytes": 200_000 } }));
    for i in 1..=100 {
        let user = format!("u{i}");
        h.backend.set_user(
            &user,
            Some(&format!("img{i}")),
            Some(fake_png(&user, 9_000)),
        );
    }
    h.get("u1");
    for i in 2..=100 {
        h.runtime.advance(10.0);
        h.get(&format!("u{i}"));
        if i % 10 == 0 {
            h.runtime.advance(10.0);
            assert_eq!(h.get("u1").source, Source::MEMORY);
            let c = h.cache.clone();
            h.run(async move { c.flush_touches().await });
        }
    }
    h.runtime.advance(10_000.0);
    assert!(h.images.contains("img1"), "u1 was used all along");
    let reloaded = h.tab();
    let calls = h.api_calls();
    let again = h.get_in(&reloaded, "u1");
    assert_eq!(again.source, Source::INDEXED_DB);
    assert_eq!(h.api_calls(), calls, "no request");
}

#[test]
fn gets_in_the_same_turn_share_one_indexeddb_read() {
    let h = Harness::new(defaults());
    let users = h.users(100);
    for user in &users {
        h.get(user);
    }
    h.runtime.advance(10_000.0);
    let reloaded = h.tab();
    let before = h.images.transactions.get();
    let cache = reloaded.clone();
    let gets = join_all(users.clone().into_iter().map(move |user| {
        let cache = cache.clone();
        async move { cache.get(&user, None).await.unwrap() }
    }));
    let pictures = h.run(gets);
    assert!(pictures.iter().all(|p| p.source == Source::INDEXED_DB));
    assert_eq!(
        h.images.transactions.get() - before,
        1,
        "one readonly transaction for the 100 gets"
    );
    assert_eq!(
        h.api_calls(),
        100,
        "and no request beyond the first visit's"
    );
}

#[test]
fn prefetch_counts_users_without_a_picture_as_defaulted_and_only_its_own_downloads() {
    let h = Harness::new(defaults());
    let users = h.users(3);
    h.backend.set_user("nopic", None, None);
    h.backend
        .set_user("other", Some("img-other"), Some(fake_png("other", 2_000)));
    h.backend.set_latency(Rc::new(h.runtime.clone()), 50.0);
    let mut asked = users.clone();
    asked.push("nopic".into());
    let (c, o) = (h.cache.clone(), h.cache.clone());
    let (report, other) = h.run(async move {
        futures::join!(c.prefetch(&asked), async move {
            o.get("other", None).await.unwrap()
        })
    });
    let report = report.unwrap();
    assert_eq!(
        other.source,
        Source::NETWORK,
        "another call downloaded meanwhile"
    );
    assert_eq!(
        (report.network, report.defaulted, report.downloads),
        (3, 1, 3),
        "{report:?}"
    );
    let c = h.cache.clone();
    let again = h
        .run(async move { c.prefetch(&["nopic".to_string()]).await })
        .unwrap();
    assert_eq!((again.memory, again.defaulted), (0, 1), "{again:?}");
}

#[test]
fn records_can_rest_without_their_presigned_url() {
    let h = Harness::new(json!({ "local": { "storeUrls": false } }));
    h.users(2);
    h.get("u0");
    h.get("u1");
    let key = Keys::new("profile_pic", 1).record_key("u0");
    let raw = h.local.raw(&key).expect("the record is stored");
    assert!(!raw.contains("X-Amz"), "no presigned URL at rest: {raw}");
    h.runtime.advance(10_000.0);
    // After a reload: stored bytes answer with no request at all.
    let reloaded = h.tab();
    let calls = h.api_calls();
    assert_eq!(h.get_in(&reloaded, "u0").source, Source::INDEXED_DB);
    assert_eq!(h.api_calls(), calls);
    // Bytes gone: the URL is signed again by the backend before the download.
    let c = h.images.clone();
    h.run(async move { c.remove("img1").await }).unwrap();
    let again = h.get_in(&reloaded, "u1");
    assert_eq!(again.source, Source::NETWORK);
    assert_eq!(h.api_calls(), calls + 1, "one call to sign the URL again");
}

#[test]
fn records_fetched_by_a_page_reach_its_worker_and_it_asks_the_backend_nothing() {
    let h = Harness::new(defaults());
    h.users(2);
    let worker = h.worker();
    let learned = h.learned_by(&h.cache);
    h.get("u0");
    h.get("u0");
    assert_eq!(
        learned
            .borrow()
            .iter()
            .map(|r| r.user_id.as_str())
            .collect::<Vec<_>>(),
        ["u0"],
        "told once, of the backend's record; a memory answer is not news"
    );
    assert!(worker.apply_learned(learned.borrow()[0].clone()));
    let p = h.get_in(&worker, "u0");
    assert_eq!(
        (p.source, p.image_id.as_deref()),
        (Source::INDEXED_DB, Some("img0"))
    );
    assert_eq!(
        (h.api_calls(), h.downloads()),
        (1, 1),
        "the worker asked nothing"
    );
    assert_eq!(
        h.get_in(&worker, "u1").source,
        Source::NETWORK,
        "a user it was not told of"
    );
}

#[test]
fn records_fetched_by_the_worker_reach_the_pages_record_store() {
    let h = Harness::new(defaults());
    h.users(1);
    let worker = h.worker();
    let learned = h.learned_by(&worker);
    h.get_in(&worker, "u0");
    assert!(
        h.local.raw("profile_pic:local:u0:v1").is_none(),
        "pages' store untouched so far"
    );
    assert!(h.cache.apply_learned(learned.borrow()[0].clone()));
    assert!(
        h.local.raw("profile_pic:local:u0:v1").is_some(),
        "kept in the pages' store"
    );
    let reloaded = h.tab();
    assert_eq!(h.get_in(&reloaded, "u0").source, Source::INDEXED_DB);
    assert_eq!(h.api_calls(), 1);
}

#[test]
fn a_learned_record_is_not_kept_when_older_invalid_closed_or_just_after_a_clear() {
    let h = Harness::new(defaults());
    h.users(1);
    let worker = h.worker();
    let learned = h.learned_by(&worker);
    h.get_in(&worker, "u0");
    let record = learned.borrow()[0].clone();
    h.clock.advance(MINUTE);
    h.get("u0");
    assert!(
        !h.cache.apply_learned(record.clone()),
        "the page's own record is newer"
    );

    let other_version = PictureRecord {
        version: 2,
        ..record.clone()
    };
    let fresh = h.tab();
    h.cache.invalidate("u0").unwrap();
    assert!(!fresh.apply_learned(other_version), "another version");

    let c = h.cache.clone();
    h.run(async move { c.clear().await });
    let newer = PictureRecord {
        fetched_at: h.clock.now_ms(),
        ..record.clone()
    };
    assert!(
        !h.cache.apply_learned(newer.clone()),
        "sent before the sender saw the clear, perhaps: not kept"
    );
    assert!(
        h.local.raw("profile_pic:local:u0:v1").is_none(),
        "the logout stands"
    );
    h.clock.advance(LEARNED_QUIET_MS);
    assert!(
        h.cache.apply_learned(newer.clone()),
        "kept once the clear is past"
    );

    let closed = h.tab();
    closed.close();
    h.cache.invalidate("u0").unwrap();
    assert!(!closed.apply_learned(newer), "a closed cache keeps nothing");
}

#[test]
fn a_learned_record_is_not_announced_to_subscribers_or_handed_on() {
    let h = Harness::new(defaults());
    h.users(1);
    let worker = h.worker();
    let learned = h.learned_by(&worker);
    h.get_in(&worker, "u0");
    let heard = Rc::new(RefCell::new(0));
    let count = heard.clone();
    h.cache
        .subscribe(Rc::new(move |_: Option<&str>| *count.borrow_mut() += 1));
    let changes = Rc::new(RefCell::new(0));
    let sent = changes.clone();
    h.cache
        .set_change_hook(Some(Rc::new(move |_: &Change| *sent.borrow_mut() += 1)));
    let handed_on = h.learned_by(&h.cache);
    assert!(h.cache.apply_learned(learned.borrow()[0].clone()));
    assert_eq!(
        (*heard.borrow(), *changes.borrow(), handed_on.borrow().len()),
        (0, 0, 0)
    );
}

#[test]
fn a_page_and_its_worker_asking_at_once_ask_the_backend_once_per_user() {
    let h = Harness::new(defaults());
    let users = h.users(3);
    let worker = h.worker();
    for (from, to) in [
        (h.cache.clone(), worker.clone()),
        (worker.clone(), h.cache.clone()),
    ] {
        from.set_learn_hook(Some(Rc::new(move |r: &PictureRecord| {
            to.apply_learned(r.clone());
        })));
    }
    let gets = users.iter().flat_map(|u| {
        let (page, worker, user) = (h.cache.clone(), worker.clone(), u.clone());
        [async move { page.get(&user, None).await }.boxed_local(), {
            let user = u.clone();
            async move { worker.get(&user, None).await }.boxed_local()
        }]
    });
    let gets: Vec<_> = gets.collect();
    let answers = h.run(join_all(gets));
    assert!(answers
        .iter()
        .all(|p| p.as_ref().is_ok_and(|p| p.image_id.is_some())));
    assert_eq!(
        (h.api_calls(), h.downloads()),
        (3, 3),
        "the page asked for the three users (no batch endpoint here), the worker for nobody; each image downloaded once"
    );
}

#[test]
fn users_sharing_an_image_after_a_reload_keep_the_url_they_were_given() {
    let h = team_sharing_one_image(&["a", "b", "c"], None);
    for user in ["a", "b", "c"] {
        h.get(user);
    }
    let pictures = the_team_at_once(&h, &h.tab(), Source::INDEXED_DB);
    assert_eq!(pictures[0].url, pictures[2].url, "one image, one URL");
    assert_eq!(h.downloads(), 1);
}

/// A harness whose `users` all have the image `team-logo` (one set of bytes), every backend
/// answer taking `latency` ms of simulated time.
fn team_sharing_one_image(users: &[&str], latency: Option<Millis>) -> Harness {
    let h = Harness::new(defaults());
    if let Some(ms) = latency {
        h.backend.set_latency(Rc::new(h.runtime.clone()), ms);
    }
    let shared = fake_png("team", 2_000);
    for user in users {
        h.backend
            .set_user(user, Some("team-logo"), Some(shared.clone()));
    }
    h
}

/// Users a, b and c asked for at once in `cache`: each answered from `source` with a URL that
/// was not revoked.
fn the_team_at_once(h: &Harness, cache: &Hierarchy<Bytes>, source: Source) -> Vec<Picture> {
    let cache = cache.clone();
    let pictures = h.run(join_all(["a", "b", "c"].map(move |user| {
        let cache = cache.clone();
        async move { cache.get(user, None).await.unwrap() }
    })));
    for p in &pictures {
        assert_eq!(p.source, source);
        assert!(
            !h.urls.is_revoked(&p.url),
            "{} was handed a revoked URL",
            p.user_id
        );
    }
    pictures
}

/// Three users whose records name one image that is not stored, asked for at once: one
/// download, one object URL, never revoked while handed out. With `latency`, their downloads
/// would overlap (they share one); without, each finishes before the next user looks (the next
/// finds the bytes in memory).
fn users_sharing_an_image_never_stored(latency: Option<Millis>) {
    let h = team_sharing_one_image(&["a", "b", "c"], latency);
    let pictures = the_team_at_once(&h, &h.cache, Source::NETWORK);
    assert_eq!(pictures[0].url, pictures[2].url, "one image, one URL");
    assert_eq!(h.downloads(), 1, "one image, one download");
    let again = h.get("b");
    assert_eq!(
        (again.source, again.url),
        (Source::MEMORY, pictures[0].url.clone())
    );
}

#[test]
fn users_sharing_an_image_never_stored_get_one_download_and_a_live_url() {
    users_sharing_an_image_never_stored(None);
}

#[test]
fn users_sharing_an_image_downloading_at_once_share_the_download() {
    users_sharing_an_image_never_stored(Some(80.0));
}

fn users_in(texts: &[(String, String)]) -> Vec<&str> {
    let mut users: Vec<&str> = texts.iter().map(|(user, _)| user.as_str()).collect();
    users.sort();
    users
}

#[test]
fn a_restarted_worker_is_handed_what_any_tab_learned_since_it_last_started_even_after_a_reload() {
    let h = Harness::new(defaults());
    for user in ["u1", "u2", "u3", "u4", "u5"] {
        let image = format!("img-{user}");
        h.backend
            .set_user(user, Some(&image), Some(fake_png(&image, 300)));
    }
    let handover = h.cache.inner.keys.handover_key();
    let since = START + 10.0 * MINUTE; // a worker that holds records
    h.get("u1");
    assert_eq!(h.local.raw(&handover), None, "no worker yet: nothing noted");
    // A worker starts for the first time: it is handed every record, and notes begin.
    assert_eq!(users_in(&h.cache.texts_to_hand_over(0.0)), ["u1"]);
    h.get("u2");
    h.get("u2"); // from memory: nothing new learned
    let other = h.tab();
    h.get_in(&other, "u3");
    // This page is reloaded while the worker is stopped: the notes outlive it.
    let reloaded = h.tab();
    let handed = reloaded.texts_to_hand_over(since);
    assert_eq!(users_in(&handed), ["u2", "u3"], "learned in either tab");
    for (user, text) in &handed {
        let record = PictureRecord::decode(text, user, 1, START).unwrap();
        assert_eq!(record.image_id.as_deref(), Some(&*format!("img-{user}")));
    }
    assert!(h.cache.texts_to_hand_over(since).is_empty(), "taken once");
    h.get("u4");
    assert_eq!(users_in(&other.texts_to_hand_over(since)), ["u4"]);
    // A worker that holds nothing is handed every record.
    assert_eq!(
        users_in(&h.cache.texts_to_hand_over(0.0)),
        ["u1", "u2", "u3", "u4"]
    );
    // Logging out leaves no user id behind, in the records or in the notes; the notes then say
    // "everything", so what is learned after the logout still reaches a restarted worker.
    h.get("u5");
    assert!(h.local.raw(&handover).unwrap().contains("u5"));
    let c = h.cache.clone();
    h.run(async move { c.clear().await });
    assert_eq!(h.local.raw_keys(), std::slice::from_ref(&handover));
    assert_eq!(h.local.raw(&handover).as_deref(), Some("*"));
    h.get("u1");
    assert_eq!(users_in(&other.texts_to_hand_over(since)), ["u1"]);
    // Another tab noted a user before it heard of the clear: it forgets them when it does.
    h.get_in(&other, "u5");
    assert!(h.local.raw(&handover).unwrap().contains("u5"));
    other.apply_remote_change(&Change::All);
    assert_eq!(h.local.raw(&handover).as_deref(), Some("*"));
}

#[test]
fn past_the_notes_limit_a_restarted_worker_is_handed_every_record() {
    use crate::layers::handover_notes::NOTED_MAX;
    let h = Harness::new(defaults());
    h.cache.texts_to_hand_over(0.0); // a worker started
    let users: Vec<String> = (0..=NOTED_MAX).map(|i| format!("m{i}")).collect();
    for user in &users {
        h.backend.set_user(user, None, None);
        h.get(user);
    }
    assert_eq!(
        h.cache.texts_to_hand_over(START + MINUTE).len(),
        users.len()
    );
    assert!(h.cache.texts_to_hand_over(START + MINUTE).is_empty());
}

#[test]
fn a_get_after_clear_never_joins_a_download_of_the_session_before() {
    let h = team_sharing_one_image(&["a", "b"], Some(100.0));
    let (a, clear, b) = (h.cache.clone(), h.cache.clone(), h.cache.clone());
    let runtime = h.runtime.clone();
    let (_, _, after) = h.run(async move {
        futures::join!(
            async move { a.get("a", None).await.unwrap() },
            async {
                runtime.sleep(50.0).await;
                clear.clear().await;
            },
            async {
                // Asked for after the clear; its API answer comes while the download of a's
                // load (of the ended session) is still under way.
                runtime.sleep(60.0).await;
                b.get("b", None).await.unwrap()
            }
        )
    });
    assert_eq!(after.source, Source::NETWORK, "{after:?}");
    assert!(!h.urls.is_revoked(&after.url));
    assert_eq!(
        h.downloads(),
        1,
        "the ended session's load downloads nothing"
    );
}

/// Four users asked for at once with one network request at a time (each taking 100 ms), and
/// a logout at 150 ms: what was sent (API calls, downloads).
fn requests_around_a_logout(config: serde_json::Value) -> (u64, u64) {
    let h = Harness::new(config);
    let users = h.users(4);
    h.backend.set_latency(Rc::new(h.runtime.clone()), 100.0);
    let (cache, clear, runtime) = (h.cache.clone(), h.cache.clone(), h.runtime.clone());
    let pictures = h.run(async move {
        let gets = join_all(users.iter().map(|user| {
            let (cache, user) = (cache.clone(), user.clone());
            async move { cache.get(&user, None).await.unwrap() }
        }));
        let logout = async move {
            runtime.sleep(150.0).await;
            clear.clear().await;
        };
        futures::join!(gets, logout).0
    });
    assert!(
        pictures.iter().all(|p| p.source == Source::Default),
        "{pictures:?}"
    );
    (h.api_calls(), h.downloads())
}

#[test]
fn requests_still_waiting_for_a_network_slot_at_a_logout_are_not_sent() {
    // One batch call (0–100 ms), then the downloads one at a time: the first runs at the
    // logout, the three behind it are not made.
    let batched = json!({"batchEndpoint": "/images/batch", "batch": {"concurrency": 1}});
    assert_eq!(requests_around_a_logout(batched), (1, 1));
    // One API call per user, one at a time: the first answered, the second under way at the
    // logout, the two behind it not sent (nor any download).
    let single = json!({"batch": {"concurrency": 1}});
    assert_eq!(requests_around_a_logout(single), (2, 0));
}

#[test]
fn a_download_that_ends_after_another_tab_stored_its_image_keeps_the_url_handed_out_meanwhile() {
    let h = team_sharing_one_image(&["a", "b"], Some(100.0));
    let (here, there) = (h.cache.clone(), h.tab());
    let (here_too, runtime, later) = (here.clone(), h.runtime.clone(), h.runtime.clone());
    let (a, b) = h.run(async move {
        let other_tab = async move {
            // The other tab fetches b: its record and the image are stored at ~200 ms.
            there.get("b", None).await.unwrap();
        };
        let a = async move {
            // Here, a's download runs from ~150 to ~250 ms: the image was not stored when
            // a's load looked.
            runtime.sleep(50.0).await;
            here.get("a", None).await.unwrap()
        };
        let b = async move {
            // b is asked for here at 220 ms: record and image from storage, a URL handed out.
            later.sleep(220.0).await;
            here_too.get("b", None).await.unwrap()
        };
        let ((), a, b) = futures::join!(other_tab, a, b);
        (a, b)
    });
    assert_eq!(b.source, Source::INDEXED_DB, "{b:?}");
    assert_eq!(a.source, Source::NETWORK, "{a:?}");
    assert!(
        !h.urls.is_revoked(&b.url),
        "b was handed a URL revoked since"
    );
    assert!(!h.urls.is_revoked(&a.url));
}

#[test]
fn a_page_closed_in_the_turn_it_learned_a_user_still_notes_it_for_the_worker() {
    let h = Harness::new(defaults());
    h.users(1);
    h.cache.texts_to_hand_over(0.0); // a worker started: notes begin
    let c = h.cache.clone();
    h.run(async move {
        c.get("u0", None).await.unwrap();
        c.close();
    });
    let handover = h.cache.inner.keys.handover_key();
    assert_eq!(h.local.raw(&handover).as_deref(), Some(r#"["u0"]"#));
}

/// Bytes that went stale where IndexedDB cannot hold them (off, or lost): a 304 renews memory's
/// copy; the revalidation is not an error and is not asked again at every get.
fn a_304_renews_what_memory_holds(config: serde_json::Value, lose_indexeddb: bool) {
    let h = Harness::new(config);
    h.users(1);
    let first = h.get("u0");
    if lose_indexeddb {
        h.images.set_available(false);
    }
    h.clock.advance(61.0 * MINUTE);
    let stale = h.get("u0");
    assert_eq!(
        (stale.stale, stale.url.as_str()),
        (true, first.url.as_str())
    );
    let counts = h.backend.counts();
    assert_eq!((counts.downloads, counts.not_modified), (1, 1));
    let after = h.get("u0");
    assert_eq!(
        (after.source, after.stale, after.url.as_str()),
        (Source::MEMORY, false, first.url.as_str()),
        "the 304 made memory's bytes fresh"
    );
    h.get("u0");
    assert_eq!(h.backend.counts().not_modified, 1, "not revalidated again");
    assert_eq!(h.cache.stats().network.errors, 0, "a 304 is not a failure");
}

#[test]
fn a_304_renews_the_bytes_memory_holds_when_indexeddb_is_off() {
    a_304_renews_what_memory_holds(
        json!({"idb": {"enabled": false, "ttlMs": 3_600_000}}),
        false,
    );
}

#[test]
fn a_304_renews_the_bytes_memory_holds_when_indexeddb_was_lost() {
    a_304_renews_what_memory_holds(json!({"idb": {"ttlMs": 3_600_000}}), true);
}

/// A service worker over `records`, a record store of its own that outlives it (IndexedDB).
fn worker_over(h: &Harness, records: &InMemoryRecordStore) -> Hierarchy<Bytes> {
    h.browser
        .cache(&h.config, &h.images, Some(Rc::new(records.clone())))
}

#[test]
fn a_worker_keeps_the_record_it_revalidated_across_a_restart() {
    let h = Harness::new(defaults());
    h.users(1);
    let records = InMemoryRecordStore::private(&h.config, Rc::new(h.clock.clone()));
    let worker = worker_over(&h, &records);
    h.get_in(&worker, "u0");
    h.backend
        .set_user("u0", Some("img-new"), Some(fake_png("new", 3_000)));
    h.clock.advance(46.0 * MINUTE);
    assert!(
        h.get_in(&worker, "u0").stale,
        "revalidated behind the answer"
    );
    assert_eq!(h.api_calls(), 2);
    worker.close();
    let restarted = worker_over(&h, &records);
    let p = h.get_in(&restarted, "u0");
    assert_eq!(p.image_id.as_deref(), Some("img-new"));
    assert_eq!(h.api_calls(), 2, "the revalidated record was kept");
}

#[test]
fn changes_heard_from_a_page_reach_the_workers_own_records_but_not_localstorage() {
    let h = Harness::new(defaults());
    h.users(2);
    let records = InMemoryRecordStore::private(&h.config, Rc::new(h.clock.clone()));
    let worker = worker_over(&h, &records);
    h.get_in(&worker, "u0");
    h.get_in(&worker, "u1");
    h.get("u0");
    worker.apply_remote_change(&Change::User("u0".into()));
    assert_eq!(records.get("u0").unwrap(), None, "the worker forgets it");
    assert!(records.get("u1").unwrap().is_some());
    let tab = h.tab();
    tab.apply_remote_change(&Change::User("u0".into()));
    assert!(
        h.local.get("u0").unwrap().is_some(),
        "localStorage holds what the other tab wrote"
    );
    worker.apply_remote_change(&Change::All);
    assert_eq!(
        records.get("u1").unwrap(),
        None,
        "a logout reaches the worker"
    );
}

/// A storage URL of `image` signed now, as a plain `<img>` on a page would carry it.
fn storage_url(h: &Harness, image: &str) -> String {
    let backend = h.backend.clone();
    let user = format!("owner-of-{image}");
    backend.set_user(&user, Some(image), Some(fake_png(image, 1_500)));
    h.run(async move { backend.fetch_user(&user).await.unwrap().url })
}

fn image_by_url(
    h: &Harness,
    cache: &Hierarchy<Bytes>,
    ids: &[&str],
    url: &str,
) -> ImageAtUrl<Bytes> {
    let (cache, url) = (cache.clone(), url.to_string());
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    h.run(async move {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        cache.image_by_url(&ids, &url).await
    })
}

#[test]
fn a_storage_image_is_downloaded_once_then_answered_from_memory_then_from_its_row() {
    let h = Harness::new(defaults());
    let worker = h.worker();
    let url = storage_url(&h, "img-s");
    let first = image_by_url(&h, &worker, &["img-s"], &url);
    assert!(matches!(first, ImageAtUrl::Downloaded(_)), "{first:?}");
    let again = image_by_url(&h, &worker, &["img-s"], &url);
    assert!(matches!(again, ImageAtUrl::Memory(_)), "{again:?}");
    h.run(h.runtime.sleep(1_000.0));
    assert!(h.images.contains("img-s"), "stored behind the answer");
    // A restarted worker (memory empty), asked under the id a record gives it, then the key.
    let restarted = h.worker();
    let stored = image_by_url(&h, &restarted, &["img-other", "img-s"], &url);
    assert!(matches!(stored, ImageAtUrl::Stored(_)), "{stored:?}");
    assert_eq!(h.downloads(), 1);
    assert_eq!(worker.stats().downloads, 1);
}

#[test]
fn storage_requests_and_a_get_of_the_same_image_at_once_share_one_download() {
    let h = Harness::new(defaults());
    h.backend.set_latency(Rc::new(h.runtime.clone()), 100.0);
    let worker = h.worker();
    let url = storage_url(&h, "img-s");
    // A user whose record names the same image, asked for through /avatar/ meanwhile.
    h.backend
        .set_user("owner", Some("img-s"), Some(fake_png("img-s", 1_500)));
    let (a, b, get) = (worker.clone(), worker.clone(), worker.clone());
    let runtime = h.runtime.clone();
    let (first, second, picture) = h.run(async move {
        futures::join!(
            async { a.image_by_url(&["img-s"], &url).await },
            async {
                runtime.sleep(20.0).await;
                b.image_by_url(&["img-s"], &url).await
            },
            async { get.get("owner", None).await.unwrap() }
        )
    });
    assert!(matches!(first, ImageAtUrl::Downloaded(_)), "{first:?}");
    assert!(matches!(second, ImageAtUrl::Downloaded(_)), "{second:?}");
    assert_eq!(picture.source, Source::NETWORK);
    assert_eq!(h.downloads(), 1, "one download for the three");
}

#[test]
fn a_storage_download_that_ends_after_a_logout_is_neither_handed_out_nor_stored() {
    for (how, logout) in [
        ("clear() here", 0),
        ("clear() heard from a page", 1),
        ("close()", 2),
    ] {
        let h = Harness::new(defaults());
        h.backend.set_latency(Rc::new(h.runtime.clone()), 100.0);
        let worker = h.worker();
        let url = storage_url(&h, "img-s");
        let (asker, ender, runtime) = (worker.clone(), worker.clone(), h.runtime.clone());
        let (answer, ()) = h.run(async move {
            futures::join!(
                async move { asker.image_by_url(&["img-s"], &url).await },
                async move {
                    runtime.sleep(50.0).await;
                    match logout {
                        0 => ender.clear().await,
                        1 => ender.apply_remote_change(&Change::All),
                        _ => ender.close(),
                    }
                }
            )
        });
        assert!(matches!(answer, ImageAtUrl::Nothing), "{how}: {answer:?}");
        h.run(h.runtime.sleep(1_000.0));
        assert!(!h.images.contains("img-s"), "{how}: nothing stored");
    }
}

#[test]
fn a_closed_worker_answers_storage_urls_with_nothing_and_downloads_nothing() {
    let h = Harness::new(defaults());
    let worker = h.worker();
    let url = storage_url(&h, "img-s");
    worker.close();
    let answer = image_by_url(&h, &worker, &["img-s"], &url);
    assert!(matches!(answer, ImageAtUrl::Nothing), "{answer:?}");
    assert_eq!(h.downloads(), 0);
}

#[test]
fn storage_urls_that_fail_answer_nothing_and_count_the_failure() {
    let h = Harness::new(defaults());
    let worker = h.worker();
    let url = storage_url(&h, "img-s");
    h.backend.set_image_mode("img-s", ImageMode::Html);
    let answer = image_by_url(&h, &worker, &["img-s"], &url);
    assert!(matches!(answer, ImageAtUrl::Nothing), "{answer:?}");
    assert!(worker.stats().network.errors >= 1, "{:?}", worker.stats());
    h.backend.set_image_mode("img-s", ImageMode::Opaque);
    let opaque = image_by_url(&h, &worker, &["img-s"], &url);
    assert!(matches!(opaque, ImageAtUrl::Opaque), "{opaque:?}");
    assert!(!h.images.contains("img-s"));
}
