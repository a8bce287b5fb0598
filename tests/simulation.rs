//! A week of one user's sessions, simulated natively over the in-memory layers under a manual
//! clock, to measure what the cache saves against the plan's targets:
//! hit rate > 90 %, < 2 API calls per session, < 30 % of the bytes of no cache.
//!
//! The workload: 500 users whose popularity follows a Zipf law (s = 1); the viewer has a friend
//! list of 100 (drawn by popularity); 20 sessions spread over 7 days, each a page load (fresh
//! memory, same storage) that shows the friend list (`prefetch` of 100), then 30 pictures one by
//! one, 20 s apart: friends' profile modals (by popularity among friends). Each day 2 % of users
//! upload a new picture. Without a cache every shown picture costs one API call and one
//! download. A harder variant sends a fifth of the single views to anyone (strangers in a feed):
//! its figures are printed beside, not held to the targets.
//!
//! `cargo test --release --test simulation -- --nocapture` prints the figures.
#![cfg(not(target_arch = "wasm32"))]

use std::rc::Rc;

use avatar_cache::clock::{ManualClock, Random, SeededRandom};
use avatar_cache::hierarchy::{Hierarchy, Layers};
use avatar_cache::layers::in_memory::{
    fake_png, Bytes, FakeObjectUrls, InMemoryImageStore, InMemoryRecordStore, ScriptedBackend,
    TestRuntime,
};
use avatar_cache::layers::{ImageStore, RecordStore};
use avatar_cache::{Clock, Config};

const USERS: usize = 500;
const FRIENDS: usize = 100;
const SESSIONS: usize = 20;
const VIEWS_PER_SESSION: usize = 30;
const WEEK_MS: f64 = 7.0 * 24.0 * 3_600_000.0;
const START: f64 = 1_795_827_600_000.0;

/// Samples ranks 0..n with probability ∝ 1 / (rank + 1).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                total += 1.0 / k as f64;
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, random: &dyn Random) -> usize {
        let x = random.next_unit() * self.cumulative.last().unwrap();
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.cumulative.len() - 1)
    }
}

#[derive(Debug, Default)]
struct Outcome {
    shown: u64,
    answered_from_cache: u64,
    api_calls: u64,
    bytes: u64,
    baseline_bytes: u64,
}

fn image_size(user: usize) -> usize {
    8_000 + (user * 7_919) % 24_000
}

fn simulate(config: serde_json::Value, stranger_share: f64, seed: u64) -> Outcome {
    let random = SeededRandom::new(seed);
    let clock = ManualClock::new(START);
    let config = Rc::new(Config::from_json(config).unwrap());
    let runtime = TestRuntime::new(clock.clone());
    let backend = ScriptedBackend::new(Rc::new(clock.clone()), 3600);
    let local = InMemoryRecordStore::new(&config, Rc::new(clock.clone()));
    let images = InMemoryImageStore::new(&config);
    let urls = FakeObjectUrls::default();

    let zipf = Zipf::new(USERS);
    let mut versions = vec![0u32; USERS];
    let image_of = |u: usize, v: u32| format!("img{u}v{v}");
    for u in 0..USERS {
        let id = (u % 10 != 9).then(|| image_of(u, 0));
        backend.set_user(
            &format!("user{u}"),
            id.as_deref(),
            Some(fake_png(&format!("{u}"), image_size(u))),
        );
    }
    let mut friends = Vec::new();
    while friends.len() < FRIENDS {
        let u = zipf.sample(&random);
        if !friends.contains(&u) {
            friends.push(u);
        }
    }
    let friend_ids: Vec<String> = friends.iter().map(|u| format!("user{u}")).collect();
    let friend_zipf = Zipf::new(FRIENDS);

    let mut outcome = Outcome::default();
    let mut day = 0;
    for session in 0..SESSIONS {
        // Sessions spread over the week with some jitter.
        let at = START + WEEK_MS * (session as f64 + 0.5 * random.next_unit()) / SESSIONS as f64;
        if at > clock.now_ms() {
            runtime.advance(at - clock.now_ms());
        }
        while (clock.now_ms() - START) / 86_400_000.0 >= (day + 1) as f64 {
            day += 1;
            for _ in 0..USERS / 50 {
                let u = (random.next_unit() * USERS as f64) as usize % USERS;
                versions[u] += 1;
                let id = image_of(u, versions[u]);
                backend.set_user(
                    &format!("user{u}"),
                    Some(&id),
                    Some(fake_png(&id, image_size(u))),
                );
            }
        }

        // A page load: new memory, same storage.
        let cache = Hierarchy::<Bytes>::new(
            config.clone(),
            Layers {
                local: config
                    .local
                    .enabled
                    .then(|| Rc::new(local.clone()) as Rc<dyn RecordStore>),
                images: config
                    .idb
                    .enabled
                    .then(|| Rc::new(images.clone()) as Rc<dyn ImageStore<Bytes>>),
                backend: Rc::new(backend.clone()),
                urls: Rc::new(urls.clone()),
                locks: None,
                runtime: Rc::new(runtime.clone()),
                clock: Rc::new(clock.clone()),
            },
        );
        let c = cache.clone();
        let list = friend_ids.clone();
        runtime.block_on(async move { c.prefetch(&list).await.unwrap() });
        let mut shown: Vec<usize> = friends.clone();
        for _ in 0..VIEWS_PER_SESSION {
            runtime.advance(20_000.0);
            let u = if random.next_unit() >= stranger_share {
                friends[friend_zipf.sample(&random)]
            } else {
                zipf.sample(&random)
            };
            let c = cache.clone();
            let user = format!("user{u}");
            runtime.block_on(async move { c.get(&user, None).await.unwrap() });
            shown.push(u);
        }
        runtime.advance(5_000.0);
        let stats = cache.stats();
        outcome.shown += stats.gets();
        outcome.answered_from_cache += stats.memory.hits + stats.local.hits + stats.indexeddb.hits;
        outcome.baseline_bytes += shown
            .iter()
            .filter(|u| *u % 10 != 9)
            .map(|u| image_size(*u) as u64)
            .sum::<u64>();
        cache.close();
    }
    let counts = backend.counts();
    outcome.api_calls = counts.api_calls();
    outcome.bytes = counts.bytes;
    outcome
}

fn report(name: &str, o: &Outcome) -> (f64, f64, f64) {
    let hit_rate = o.answered_from_cache as f64 / o.shown as f64;
    let calls = o.api_calls as f64 / SESSIONS as f64;
    let bytes = o.bytes as f64 / o.baseline_bytes as f64;
    println!(
        "| {name:<34} | {:>6.1} % | {:>6.2} | {:>6.1} % | {:>6} | {:>9} |",
        hit_rate * 100.0,
        calls,
        bytes * 100.0,
        o.shown,
        o.bytes
    );
    (hit_rate, calls, bytes)
}

#[test]
fn a_week_of_sessions_meets_the_plan_targets() {
    println!("\n{USERS} users (Zipf s=1), {FRIENDS} friends, {SESSIONS} sessions over 7 days, {VIEWS_PER_SESSION} views per session, 2 %/day picture changes");
    println!(
        "baseline without cache: 1 API call + 1 download per picture shown ({} per session)\n",
        FRIENDS + VIEWS_PER_SESSION
    );
    println!("| configuration                      | hit rate | API calls/session | bytes vs no cache | gets | bytes |");
    println!(
        "|------------------------------------|---------:|------:|---------:|-------:|----------:|"
    );
    let batched = simulate(
        serde_json::json!({"batchEndpoint": "/images/batch"}),
        0.0,
        7,
    );
    let (hit_rate, calls, bytes) = report("friends, batch endpoint", &batched);
    report(
        "friends, no batch endpoint",
        &simulate(serde_json::json!({}), 0.0, 7),
    );
    report(
        "friends, IndexedDB unavailable",
        &simulate(
            serde_json::json!({"batchEndpoint": "/images/batch", "idb": {"enabled": false}}),
            0.0,
            7,
        ),
    );
    report(
        "20 % strangers, batch endpoint",
        &simulate(
            serde_json::json!({"batchEndpoint": "/images/batch"}),
            0.2,
            7,
        ),
    );
    report(
        "20 % strangers, no batch endpoint",
        &simulate(serde_json::json!({}), 0.2, 7),
    );
    println!("\ntargets: hit rate > 90 %, < 2 API calls per session, < 30 % of the bytes\n");
    assert!(hit_rate > 0.90, "hit rate {hit_rate}");
    assert!(calls < 2.0, "API calls per session {calls}");
    assert!(bytes < 0.30, "bytes {bytes}");
}
