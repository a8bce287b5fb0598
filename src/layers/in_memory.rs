//! In-memory layers: the hierarchy's traits over plain Rust maps, for native tests and the
//! trace simulation. They keep the same contracts as the browser adapters (versioned keys,
//! untrusted decoding, LRU eviction in the write, quota handling) and count what they are asked,
//! so a test asserts what the "server" saw.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::executor::{LocalPool, LocalSpawner};
use futures::future::FutureExt;
use futures::task::LocalSpawnExt;

use super::{
    Backend, Download, ImageStore, LocalFuture, Locks, ObjectUrls, RecordStore, RemotePicture,
    Runtime, StoreUsage,
};
use crate::clock::{Clock, ManualClock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::Keys;
use crate::policy::lru::{Budget, LruIndex};
use crate::record::{PictureRecord, StoredImage};
use crate::vocabulary::Layer;

/// Image bytes as the native layers carry them.
pub type Bytes = Rc<Vec<u8>>;

/// A localStorage stand-in: a string map with an optional quota, shared with other "tabs" by
/// cloning.
#[derive(Clone)]
pub struct InMemoryRecordStore {
    map: Rc<RefCell<BTreeMap<String, String>>>,
    keys: Keys,
    clock: Rc<dyn Clock>,
    quota_bytes: Rc<Cell<Option<u64>>>,
}

impl InMemoryRecordStore {
    /// An empty store for `config`'s namespace and version.
    pub fn new(config: &Config, clock: Rc<dyn Clock>) -> Self {
        InMemoryRecordStore {
            map: Rc::default(),
            keys: Keys::new(&config.namespace, config.version),
            clock,
            quota_bytes: Rc::default(),
        }
    }

    /// The same underlying map seen through another namespace or version (another tab, or the
    /// app after a version bump).
    pub fn view(&self, config: &Config) -> Self {
        InMemoryRecordStore {
            keys: Keys::new(&config.namespace, config.version),
            ..self.clone()
        }
    }

    /// Limits the total size of the map, as browsers do (about 5 MB).
    pub fn set_quota(&self, bytes: Option<u64>) {
        self.quota_bytes.set(bytes);
    }

    /// Writes a raw key, as another script (or corruption) would.
    pub fn set_raw(&self, key: &str, value: &str) {
        self.map
            .borrow_mut()
            .insert(key.to_string(), value.to_string());
    }

    /// Reads a raw key.
    pub fn raw(&self, key: &str) -> Option<String> {
        self.map.borrow().get(key).cloned()
    }

    /// Every raw key.
    pub fn raw_keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
    }

    fn total_bytes(map: &BTreeMap<String, String>) -> u64 {
        map.iter()
            .map(|(k, v)| 2 * (k.len() + v.len()) as u64)
            .sum()
    }

    fn fits(&self, key: &str, value: &str) -> bool {
        let Some(quota) = self.quota_bytes.get() else {
            return true;
        };
        let map = self.map.borrow();
        let replaced = map.get(key).map_or(0, |v| 2 * (key.len() + v.len()) as u64);
        Self::total_bytes(&map) - replaced + 2 * (key.len() + value.len()) as u64 <= quota
    }

    /// Removes the older half of this namespace's records (by `fetchedAt`, unreadable ones first).
    fn evict_own_oldest(&self) -> usize {
        let now = self.clock.now_ms();
        let mut own: Vec<(Millis, String)> = {
            let map = self.map.borrow();
            map.iter()
                .filter(|(k, _)| self.keys.is_own(k))
                .map(|(k, v)| {
                    let at = serde_json::from_str::<PictureRecord>(v)
                        .map_or(f64::MIN, |r| r.fetched_at.min(now));
                    (at, k.clone())
                })
                .collect()
        };
        own.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = own.len().div_ceil(2);
        let mut map = self.map.borrow_mut();
        for (_, key) in own.into_iter().take(n) {
            map.remove(&key);
        }
        n
    }
}

impl RecordStore for InMemoryRecordStore {
    fn get(&self, user_id: &str) -> Result<Option<PictureRecord>> {
        let key = self.keys.record_key(user_id);
        let Some(text) = self.raw(&key) else {
            return Ok(None);
        };
        match PictureRecord::decode(&text, user_id, self.keys.version(), self.clock.now_ms()) {
            Ok(record) => Ok(Some(record)),
            Err(e) => {
                self.map.borrow_mut().remove(&key);
                Err(e)
            }
        }
    }

    fn put(&self, record: &PictureRecord) -> Result<()> {
        let key = self.keys.record_key(&record.user_id);
        let value = record.to_json();
        if !self.fits(&key, &value) && (self.evict_own_oldest() == 0 || !self.fits(&key, &value)) {
            return Err(Error::QuotaExceeded {
                layer: Layer::Local,
            });
        }
        self.map.borrow_mut().insert(key, value);
        Ok(())
    }

    fn remove(&self, user_id: &str) -> Result<()> {
        self.map.borrow_mut().remove(&self.keys.record_key(user_id));
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        self.map.borrow_mut().retain(|k, _| !self.keys.is_own(k));
        Ok(())
    }

    fn bytes_used(&self) -> u64 {
        let map = self.map.borrow();
        map.iter()
            .filter(|(k, _)| self.keys.is_own(k))
            .map(|(k, v)| 2 * (k.len() + v.len()) as u64)
            .sum()
    }

    fn records(&self) -> Vec<PictureRecord> {
        let now = self.clock.now_ms();
        let map = self.map.borrow();
        map.iter()
            .filter_map(|(k, v)| {
                let parsed = self.keys.parse_any_version(k)?;
                (parsed.layer == Layer::Local && parsed.version == self.keys.version())
                    .then(|| PictureRecord::decode(v, &parsed.id, self.keys.version(), now).ok())?
            })
            .collect()
    }
}

/// An IndexedDB stand-in: images by versioned key, LRU-bounded, evicting in the same "write".
/// Clones share the same store (another tab).
#[derive(Clone)]
pub struct InMemoryImageStore {
    entries: Rc<RefCell<HashMap<String, StoredImage<Bytes>>>>,
    order: Rc<RefCell<LruIndex<String>>>,
    keys: Keys,
    available: Rc<Cell<bool>>,
    failing: Rc<Cell<bool>>,
    /// Transactions opened (reads and writes), to check batching.
    pub transactions: Rc<Cell<u64>>,
}

impl InMemoryImageStore {
    /// An empty store bounded by `config.idb`.
    pub fn new(config: &Config) -> Self {
        let budget = Budget {
            max_entries: config.idb.max_entries,
            max_bytes: config.idb.max_bytes,
        };
        InMemoryImageStore {
            entries: Rc::default(),
            order: Rc::new(RefCell::new(LruIndex::new(budget))),
            keys: Keys::new(&config.namespace, config.version),
            available: Rc::new(Cell::new(true)),
            failing: Rc::default(),
            transactions: Rc::default(),
        }
    }

    /// Makes every operation fail (a lost or broken database) until called with `false`.
    pub fn set_failing(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// Marks the store missing altogether (no IndexedDB in this browser).
    pub fn set_available(&self, available: bool) {
        self.available.set(available);
    }

    /// Whether an image is stored.
    pub fn contains(&self, image_id: &str) -> bool {
        self.entries
            .borrow()
            .contains_key(&self.keys.image_key(image_id))
    }

    fn begin(&self) -> Result<()> {
        self.transactions.set(self.transactions.get() + 1);
        if self.failing.get() {
            return Err(Error::Js {
                name: "InvalidStateError".into(),
                message: "The database connection is closing.".into(),
            });
        }
        Ok(())
    }

    fn read(&self, image_id: &str) -> Option<StoredImage<Bytes>> {
        self.entries
            .borrow()
            .get(&self.keys.image_key(image_id))
            .cloned()
    }
}

impl ImageStore<Bytes> for InMemoryImageStore {
    fn get(&self, image_id: &str) -> LocalFuture<'_, Result<Option<StoredImage<Bytes>>>> {
        let result = self.begin().map(|_| self.read(image_id));
        async move { result }.boxed_local()
    }

    fn get_many<'a>(
        &'a self,
        ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<Option<StoredImage<Bytes>>>>> {
        let result = self
            .begin()
            .map(|_| ids.iter().map(|id| self.read(id)).collect());
        async move { result }.boxed_local()
    }

    fn put(&self, image: StoredImage<Bytes>) -> LocalFuture<'_, Result<Vec<String>>> {
        let result = self.begin().map(|_| {
            let key = self.keys.image_key(&image.meta.image_id);
            let evicted = self.order.borrow_mut().insert(
                key.clone(),
                image.meta.bytes,
                image.meta.last_access,
            );
            let mut entries = self.entries.borrow_mut();
            entries.insert(key, image);
            evicted
                .into_iter()
                .filter_map(|k| entries.remove(&k).map(|e| e.meta.image_id))
                .collect()
        });
        async move { result }.boxed_local()
    }

    fn touch<'a>(&'a self, accesses: &'a [(String, Millis)]) -> LocalFuture<'a, Result<()>> {
        let result = self.begin().map(|_| {
            let mut order = self.order.borrow_mut();
            for (id, at) in accesses {
                order.touch(&self.keys.image_key(id), *at);
            }
        });
        async move { result }.boxed_local()
    }

    fn remove<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<()>> {
        let result = self.begin().map(|_| {
            let key = self.keys.image_key(image_id);
            self.order.borrow_mut().remove(&key);
            self.entries.borrow_mut().remove(&key);
        });
        async move { result }.boxed_local()
    }

    fn clear(&self) -> LocalFuture<'_, Result<()>> {
        let result = self.begin().map(|_| {
            self.order.borrow_mut().clear();
            self.entries.borrow_mut().clear();
        });
        async move { result }.boxed_local()
    }

    fn usage(&self) -> LocalFuture<'_, Result<StoreUsage>> {
        let order = self.order.borrow();
        let usage = StoreUsage {
            bytes: order.bytes(),
            entries: order.len() as u64,
        };
        async move { Ok(usage) }.boxed_local()
    }

    fn is_available(&self) -> bool {
        self.available.get()
    }
}

/// How the scripted object storage answers downloads of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageMode {
    /// Bytes with CORS: readable.
    Readable,
    /// No CORS on the bucket: only an opaque answer.
    Opaque,
    /// Serves an HTML page instead of the picture.
    Html,
}

/// What the scripted backend counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendCounters {
    /// `GET /user/{id}` calls.
    pub user_calls: u64,
    /// `GET /{imageId}` calls.
    pub image_calls: u64,
    /// Batch calls.
    pub batch_calls: u64,
    /// Image downloads answered with bytes.
    pub downloads: u64,
    /// Image downloads answered 304.
    pub not_modified: u64,
    /// Image bytes served.
    pub bytes: u64,
}

impl BackendCounters {
    /// API calls of any kind.
    pub fn api_calls(&self) -> u64 {
        self.user_calls + self.image_calls + self.batch_calls
    }
}

/// A runtime to sleep on and how long each answer takes.
type Latency = (Rc<dyn Runtime>, Millis);

/// A backend and object storage that follow the contract of DESIGN.md §4 over maps: users point
/// to images, URLs are presigned (`X-Amz-Date`, `X-Amz-Expires`, a new signature each time) and
/// refused once expired, images carry ETags. Clones share state.
#[derive(Clone)]
pub struct ScriptedBackend {
    users: Rc<RefCell<HashMap<String, Option<String>>>>,
    images: Rc<RefCell<HashMap<String, (Bytes, ImageMode)>>>,
    clock: Rc<dyn Clock>,
    url_lifetime_s: Rc<Cell<u64>>,
    signature: Rc<Cell<u64>>,
    offline: Rc<Cell<bool>>,
    latency: Rc<RefCell<Option<Latency>>>,
    thumbhashes: Rc<RefCell<HashMap<String, String>>>,
    /// What was asked so far.
    pub counters: Rc<RefCell<BackendCounters>>,
}

/// The PNG signature followed by filler: enough for the native layers, which do not decode.
pub fn fake_png(seed: &str, len: usize) -> Bytes {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.extend(seed.bytes().cycle().take(len.saturating_sub(8)));
    Rc::new(bytes)
}

fn amz_date(ms: Millis) -> String {
    let secs = (ms / 1000.0).floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl ScriptedBackend {
    /// A backend with no users, presigning URLs for `url_lifetime_s` seconds.
    pub fn new(clock: Rc<dyn Clock>, url_lifetime_s: u64) -> Self {
        ScriptedBackend {
            users: Rc::default(),
            images: Rc::default(),
            clock,
            url_lifetime_s: Rc::new(Cell::new(url_lifetime_s)),
            signature: Rc::default(),
            offline: Rc::default(),
            latency: Rc::default(),
            thumbhashes: Rc::default(),
            counters: Rc::default(),
        }
    }

    /// Makes answers about `image_id` carry `thumbhash` (the optional field of DESIGN.md §4).
    pub fn set_thumbhash(&self, image_id: &str, thumbhash: &str) {
        self.thumbhashes
            .borrow_mut()
            .insert(image_id.to_string(), thumbhash.to_string());
    }

    /// Makes every answer take `ms` of (simulated) time on `runtime`.
    pub fn set_latency(&self, runtime: Rc<dyn Runtime>, ms: Millis) {
        *self.latency.borrow_mut() = Some((runtime, ms));
    }

    fn delayed<'a, T: 'a>(&self, result: Result<T>) -> LocalFuture<'a, Result<T>> {
        let sleep = self.latency.borrow().as_ref().map(|(rt, ms)| rt.sleep(*ms));
        async move {
            if let Some(sleep) = sleep {
                sleep.await;
            }
            result
        }
        .boxed_local()
    }

    /// Gives `user` the image `image_id` (or none), with `bytes` served for it.
    pub fn set_user(&self, user: &str, image_id: Option<&str>, bytes: Option<Bytes>) {
        self.users
            .borrow_mut()
            .insert(user.to_string(), image_id.map(str::to_string));
        if let (Some(id), Some(bytes)) = (image_id, bytes) {
            self.images
                .borrow_mut()
                .insert(id.to_string(), (bytes, ImageMode::Readable));
        }
    }

    /// Changes how downloads of `image_id` are answered.
    pub fn set_image_mode(&self, image_id: &str, mode: ImageMode) {
        if let Some(entry) = self.images.borrow_mut().get_mut(image_id) {
            entry.1 = mode;
        }
    }

    /// Every request fails as if the network were down.
    pub fn set_offline(&self, offline: bool) {
        self.offline.set(offline);
    }

    /// A copy of the counters.
    pub fn counts(&self) -> BackendCounters {
        self.counters.borrow().clone()
    }

    fn check_online(&self, request: &str) -> Result<()> {
        if self.offline.get() {
            return Err(Error::Network {
                status: 0,
                request: request.to_string(),
            });
        }
        Ok(())
    }

    fn presign(&self, image_id: &str) -> String {
        let n = self.signature.get() + 1;
        self.signature.set(n);
        format!(
            "https://s3.test/avatars/{image_id}?X-Amz-Date={}&X-Amz-Expires={}&X-Amz-Signature={n:016x}",
            amz_date(self.clock.now_ms()),
            self.url_lifetime_s.get()
        )
    }

    fn describe(&self, user: &str) -> Option<RemotePicture> {
        let image_id = self.users.borrow().get(user)?.clone();
        let url = match &image_id {
            Some(id) => self.presign(id),
            None => "/images/default_pfp.png".to_string(),
        };
        let thumbhash = image_id
            .as_ref()
            .and_then(|id| self.thumbhashes.borrow().get(id).cloned());
        Some(RemotePicture {
            user_id: Some(user.to_string()),
            image_id,
            url,
            thumbhash,
        })
    }
}

impl Backend<Bytes> for ScriptedBackend {
    fn fetch_user<'a>(&'a self, user_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        self.counters.borrow_mut().user_calls += 1;
        let result = self.check_online("/user").and_then(|_| {
            self.describe(user_id).ok_or(Error::Network {
                status: 404,
                request: "/user".into(),
            })
        });
        self.delayed(result)
    }

    fn fetch_image_info<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        self.counters.borrow_mut().image_calls += 1;
        let result = self.check_online("/image").and_then(|_| {
            if self.images.borrow().contains_key(image_id) {
                Ok(RemotePicture {
                    user_id: None,
                    image_id: Some(image_id.to_string()),
                    url: self.presign(image_id),
                    thumbhash: self.thumbhashes.borrow().get(image_id).cloned(),
                })
            } else {
                Err(Error::Network {
                    status: 404,
                    request: "/image".into(),
                })
            }
        });
        self.delayed(result)
    }

    fn fetch_batch<'a>(
        &'a self,
        user_ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<RemotePicture>>> {
        self.counters.borrow_mut().batch_calls += 1;
        let result = self
            .check_online("/batch")
            .map(|_| user_ids.iter().filter_map(|u| self.describe(u)).collect());
        self.delayed(result)
    }

    fn download<'a>(
        &'a self,
        url: &'a str,
        etag: Option<&'a str>,
    ) -> LocalFuture<'a, Result<Download<Bytes>>> {
        let result = self.check_online("/avatars").and_then(|_| {
            let expires_at = crate::policy::presign::url_expires_at(url, 0.0, 0.0);
            if expires_at <= self.clock.now_ms() {
                return Err(Error::Network {
                    status: 403,
                    request: "/avatars".into(),
                });
            }
            let path = url.split('?').next().unwrap_or_default();
            let image_id = path.rsplit('/').next().unwrap_or_default();
            let (bytes, mode) =
                self.images
                    .borrow()
                    .get(image_id)
                    .cloned()
                    .ok_or(Error::Network {
                        status: 404,
                        request: "/avatars".into(),
                    })?;
            let tag = format!("\"{image_id}-{}\"", bytes.len());
            match mode {
                ImageMode::Opaque => return Ok(Download::Opaque),
                ImageMode::Html => {
                    return Err(Error::NotAnImage {
                        content_type: "text/html".into(),
                    })
                }
                ImageMode::Readable => {}
            }
            let mut counters = self.counters.borrow_mut();
            if etag == Some(tag.as_str()) {
                counters.not_modified += 1;
                return Ok(Download::NotModified);
            }
            counters.downloads += 1;
            counters.bytes += bytes.len() as u64;
            Ok(Download::Image {
                mime: "image/png".into(),
                bytes: bytes.len() as u64,
                body: bytes,
                etag: Some(tag),
            })
        });
        self.delayed(result)
    }
}

/// Object URLs as counters: `blob:test/<n>`, with the live and revoked sets kept for asserts.
#[derive(Clone, Default)]
pub struct FakeObjectUrls {
    next: Rc<Cell<u64>>,
    live: Rc<RefCell<HashSet<String>>>,
    revoked: Rc<RefCell<HashSet<String>>>,
}

impl FakeObjectUrls {
    /// URLs created and not revoked.
    pub fn live(&self) -> usize {
        self.live.borrow().len()
    }

    /// Whether `url` was revoked.
    pub fn is_revoked(&self, url: &str) -> bool {
        self.revoked.borrow().contains(url)
    }
}

impl ObjectUrls<Bytes> for FakeObjectUrls {
    fn create(&self, _body: &Bytes) -> Result<String> {
        let n = self.next.get() + 1;
        self.next.set(n);
        let url = format!("blob:test/{n}");
        self.live.borrow_mut().insert(url.clone());
        Ok(url)
    }

    fn revoke(&self, url: &str) {
        self.live.borrow_mut().remove(url);
        self.revoked.borrow_mut().insert(url.to_string());
    }
}

/// Locks shared by the "tabs" of one native test: one async mutex per name.
#[derive(Clone, Default)]
pub struct InMemoryLocks {
    held: Rc<RefCell<HashMap<String, Rc<futures::lock::Mutex<()>>>>>,
}

impl Locks for InMemoryLocks {
    fn exclusive(&self, name: String, task: LocalFuture<'static, ()>) -> LocalFuture<'static, ()> {
        let lock = self.held.borrow_mut().entry(name).or_default().clone();
        async move {
            let _guard = lock.lock().await;
            task.await;
        }
        .boxed_local()
    }
}

struct Timers {
    due: Vec<(Millis, Waker)>,
}

/// A single-threaded executor driven by a [`ManualClock`]: `sleep` resolves when the test moves
/// the clock past its deadline, never by waiting.
#[derive(Clone)]
pub struct TestRuntime {
    pool: Rc<RefCell<LocalPool>>,
    spawner: LocalSpawner,
    clock: ManualClock,
    timers: Rc<RefCell<Timers>>,
}

impl TestRuntime {
    /// A runtime over `clock`.
    pub fn new(clock: ManualClock) -> Self {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        TestRuntime {
            pool: Rc::new(RefCell::new(pool)),
            spawner,
            clock,
            timers: Rc::new(RefCell::new(Timers { due: Vec::new() })),
        }
    }

    /// Runs `future` to completion, along with whatever background work it starts. When
    /// everything waits on a timer, the clock jumps to the earliest deadline (simulated time:
    /// no test ever sleeps). Panics if the future can never finish.
    pub fn block_on<F: Future + 'static>(&self, future: F) -> F::Output {
        let slot = Rc::new(RefCell::new(None));
        let out = slot.clone();
        self.spawner
            .spawn_local(async move { *out.borrow_mut() = Some(future.await) })
            .expect("the test executor is alive");
        loop {
            self.settle();
            if let Some(output) = slot.borrow_mut().take() {
                return output;
            }
            let next = self
                .timers
                .borrow()
                .due
                .iter()
                .map(|(at, _)| *at)
                .min_by(|a, b| a.total_cmp(b));
            match next {
                Some(at) => self.advance((at - self.clock.now_ms()).max(0.0)),
                None => panic!("deadlock: the future waits on nothing that can wake it"),
            }
        }
    }

    /// Runs background work until nothing can progress without the clock moving.
    pub fn settle(&self) {
        self.pool.borrow_mut().run_until_stalled();
    }

    /// Moves the clock forward, fires due timers and settles.
    pub fn advance(&self, ms: Millis) {
        self.clock.advance(ms);
        let now = self.clock.now_ms();
        let due: Vec<Waker> = {
            let mut timers = self.timers.borrow_mut();
            let (fire, keep): (Vec<_>, Vec<_>) =
                timers.due.drain(..).partition(|(at, _)| *at <= now);
            timers.due = keep;
            fire.into_iter().map(|(_, w)| w).collect()
        };
        due.into_iter().for_each(Waker::wake);
        self.settle();
    }
}

struct Sleep {
    until: Millis,
    clock: ManualClock,
    timers: Rc<RefCell<Timers>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.clock.now_ms() >= self.until {
            return Poll::Ready(());
        }
        self.timers
            .borrow_mut()
            .due
            .push((self.until, cx.waker().clone()));
        Poll::Pending
    }
}

impl Runtime for TestRuntime {
    fn spawn(&self, task: LocalFuture<'static, ()>) {
        self.spawner
            .spawn_local(task)
            .expect("the test executor is alive");
    }

    fn sleep(&self, ms: Millis) -> LocalFuture<'static, ()> {
        Box::pin(Sleep {
            until: self.clock.now_ms() + ms,
            clock: self.clock.clone(),
            timers: self.timers.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_are_utc_civil_time() {
        assert_eq!(amz_date(0.0), "19700101T000000Z");
        assert_eq!(amz_date(1_795_827_600_000.0), "20261128T010000Z");
    }
}
