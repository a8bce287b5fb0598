//! Several instances on one origin behave as several tabs do: changes reach the others over
//! `BroadcastChannel` (which delivers between objects of one page too), and a picture asked for
//! everywhere at once is fetched once (Web Locks).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::future::join_all;
use js_sys::JSON;
use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn set_picture_reaches_the_other_tab_without_an_echo() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let a = open(config(&ns, &backend, json!({}))).await;
    let b = open(config(&ns, &backend, json!({}))).await;
    a.get("u1").await;
    b.get("u1").await;
    let heard_a = a.subscribe();
    let heard_b = b.subscribe();
    let downloads = backend.calls(Endpoint::Download);
    let upload = blob(&png("img-new"), "image/png");
    a.set_picture("u1", Some("img-new"), Some(&upload))
        .await
        .unwrap();
    wait_until("the other tab hears it", 2_000, || {
        heard_b.users() == vec!["u1"]
    })
    .await;
    sleep(100).await;
    assert_eq!(
        heard_a.users(),
        vec!["u1"],
        "the sender hears it once, no echo"
    );
    assert_eq!(heard_b.users(), vec!["u1"], "the receiver hears it once");
    let seen = b.get("u1").await;
    assert_eq!(seen.image_id.as_deref(), Some("img-new"));
    assert_eq!(
        backend.calls(Endpoint::Download),
        downloads,
        "nobody downloads the upload"
    );
}

#[wasm_bindgen_test]
async fn invalidate_in_one_tab_drops_the_picture_in_the_other() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let a = open(config(&ns, &backend, json!({}))).await;
    let b = open(config(&ns, &backend, json!({}))).await;
    b.get("u1").await;
    assert!(b.peek("u1").is_object());
    let heard_b = b.subscribe();
    a.invalidate("u1").await;
    wait_until("the other tab hears it", 2_000, || {
        heard_b.users() == vec!["u1"]
    })
    .await;
    assert!(
        b.peek("u1").is_undefined(),
        "dropped from the other tab's memory"
    );
}

#[wasm_bindgen_test]
async fn tabs_of_another_version_or_namespace_ignore_each_others_changes() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let a = open(config(&ns, &backend, json!({ "version": 1 }))).await;
    let other_version = open(config(&ns, &backend, json!({ "version": 2 }))).await;
    let other_namespace = open(config(&namespace(), &backend, json!({}))).await;
    other_version.get("u1").await;
    other_namespace.get("u1").await;
    let heard_version = other_version.subscribe();
    let heard_namespace = other_namespace.subscribe();
    a.invalidate("u1").await;
    sleep(150).await;
    assert!(heard_version.users().is_empty());
    assert!(other_version.peek("u1").is_object());

    // A logout, though, is every version's (a tab of the release before, open across a
    // deploy): its clear emptied the storage they share. Another namespace keeps its own.
    a.clear().await;
    wait_until("the other version dropped u1", 3_000, || {
        other_version.peek("u1").is_undefined()
    })
    .await;
    assert!(heard_version.heard("{all}"));
    assert!(heard_namespace.users().is_empty());
    assert!(other_namespace.peek("u1").is_object());
}

#[wasm_bindgen_test]
async fn tabs_asking_for_the_same_user_at_once_share_one_request() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.delay(Endpoint::User, 150);
    backend.delay(Endpoint::Download, 100);
    let tabs = join_all((0..3).map(|_| open(config(&ns, &backend, json!({}))))).await;
    let pictures = join_all(tabs.iter().map(|t| t.get("shared"))).await;
    assert!(pictures
        .iter()
        .all(|p| p.image_id.as_deref() == Some("img-shared")));
    assert_eq!(pictures.iter().filter(|p| p.source == "network").count(), 1);
    assert_eq!(
        backend.calls(Endpoint::User),
        1,
        "one API call for every tab"
    );
    assert_eq!(
        backend.calls(Endpoint::Download),
        1,
        "one download for every tab"
    );
}

#[wasm_bindgen_test]
async fn a_record_the_service_worker_fetched_is_kept_and_the_page_asks_the_api_nothing() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let page = open(config(&ns, &backend, json!({}))).await;
    let (channel, heard) = listen(&ns);
    channel
        .post_message(&learned_message(&ns, "u1", "img-u1", "worker"))
        .unwrap();
    // What another page learned is not kept: that page wrote it to localStorage itself.
    channel
        .post_message(&learned_message(&ns, "u2", "img-u2", "page"))
        .unwrap();
    sleep(100).await;
    let kept = page.get("u1").await;
    assert_eq!(kept.image_id.as_deref(), Some("img-u1"));
    assert_eq!(
        backend.calls(Endpoint::User),
        0,
        "the worker's record answered: only its bytes were downloaded"
    );
    assert_eq!(backend.calls(Endpoint::Download), 1);
    let reloaded = open(config(&ns, &backend, json!({}))).await;
    assert_eq!(
        reloaded.get("u1").await.source,
        "indexeddb",
        "kept in localStorage"
    );
    page.get("u2").await;
    assert_eq!(
        backend.calls(Endpoint::User),
        1,
        "another page's record was ignored"
    );
    // A page no service worker controls announces nothing of what it fetched.
    assert_eq!(learned_in(&heard), Vec::<(String, String)>::new());
}

/// `navigator.serviceWorker` replaced, for as long as this lives, by a container whose
/// registration has a worker installing and which controls nothing: a first visit, the page's
/// worker installing (its hello said before the page listened).
struct InstallingWorker;

impl InstallingWorker {
    fn new() -> Self {
        let fake = js_sys::Function::new_no_args(
            "Object.defineProperty(navigator, 'serviceWorker', { configurable: true, value: {
                controller: null,
                getRegistration: () => Promise.resolve({ installing: {}, waiting: null, active: null }),
            } });",
        );
        fake.call0(&JsValue::UNDEFINED).unwrap();
        InstallingWorker
    }
}

impl Drop for InstallingWorker {
    fn drop(&mut self) {
        let restore = js_sys::Function::new_no_args("delete navigator.serviceWorker;");
        restore.call0(&JsValue::UNDEFINED).unwrap();
    }
}

#[wasm_bindgen_test]
async fn a_page_whose_worker_is_installing_hands_over_what_it_learns_before_the_worker_controls_it()
{
    let ns = namespace();
    let backend = FakeBackend::new();
    let installing = InstallingWorker::new();
    let page = open(config(&ns, &backend, json!({}))).await;
    let (_channel, heard) = listen(&ns);
    // No hello heard, no controller: the registration alone says a worker is listening.
    sleep(50).await;
    page.get("u1").await;
    wait_until("u1 handed over", 2_000, || !learned_in(&heard).is_empty()).await;
    assert_eq!(learned_in(&heard), [("page".to_string(), "u1".to_string())]);
    drop(installing);
    // Without a registration (this test page has none), a page opened now announces nothing.
    let other = namespace();
    let quiet = open(config(&other, &backend, json!({}))).await;
    let (_other_channel, heard_other) = listen(&other);
    sleep(50).await;
    quiet.get("u2").await;
    sleep(100).await;
    assert_eq!(learned_in(&heard_other), Vec::<(String, String)>::new());
}

#[wasm_bindgen_test]
async fn a_page_answers_a_starting_service_workers_hello_with_its_records_and_hands_over_the_next()
{
    let ns = namespace();
    let backend = FakeBackend::new();
    let page = open(config(&ns, &backend, json!({}))).await;
    page.get("u1").await;
    page.get("u2").await;
    let (channel, heard) = listen(&ns);
    channel.post_message(&hello_message(&ns)).unwrap();
    wait_until("the page's answer", 2_000, || {
        !learned_in(&heard).is_empty()
    })
    .await;
    let mut answered = learned_in(&heard);
    answered.sort();
    assert_eq!(
        answered,
        [
            ("page".to_string(), "u1".to_string()),
            ("page".to_string(), "u2".to_string())
        ]
    );
    // From then on the worker is listening: what the page fetches next is handed over too,
    // though no worker controls this page.
    page.get("u3").await;
    wait_until("u3 handed over", 2_000, || learned_in(&heard).len() == 3).await;
    assert_eq!(
        learned_in(&heard)[2],
        ("page".to_string(), "u3".to_string())
    );
    // A hello of another namespace is not answered.
    let other = namespace();
    let (_other_channel, heard_other) = listen(&other);
    channel.post_message(&hello_message(&other)).unwrap();
    sleep(100).await;
    assert_eq!(learned_in(&heard_other), Vec::<(String, String)>::new());
    assert_eq!(learned_in(&heard).len(), 3);
}

#[wasm_bindgen_test]
async fn a_restarted_worker_is_sent_what_pages_learned_while_it_was_stopped_even_after_a_reload() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let handover = format!("{ns}:handover:v1");
    let page = open(config(&ns, &backend, json!({}))).await;
    page.get("u0").await;
    assert_eq!(
        storage().get_item(&handover).unwrap(),
        None,
        "no worker has said hello: nothing is noted"
    );
    // The worker starts for the first time: it is handed every record, and notes begin.
    let (channel, heard) = listen(&ns);
    channel.post_message(&hello_message(&ns)).unwrap();
    wait_until("the answer", 2_000, || !learned_in(&heard).is_empty()).await;
    page.get("u1").await;
    page.call("close", &[]).unwrap();
    // The page is reloaded and another tab opens: neither has heard the (now stopped) worker,
    // so what they learn is not announced, only noted.
    let page = open(config(&ns, &backend, json!({}))).await;
    let tab = open(config(&ns, &backend, json!({}))).await;
    tab.get("u2").await;
    sleep(50).await;
    assert_eq!(
        learned_in(&heard),
        [
            ("page".to_string(), "u0".to_string()),
            ("page".to_string(), "u1".to_string())
        ],
        "u0 in the answer, u1 announced (the page had heard the worker)"
    );
    // The worker restarts holding records newer than both (another page's, say): it still
    // lacks u1 and u2. One of the tabs answers, with those two only.
    let since = now_ms() + 60_000.0;
    channel.post_message(&hello_since(&ns, since)).unwrap();
    wait_until("the answer", 2_000, || learned_in(&heard).len() >= 4).await;
    sleep(100).await;
    let mut answer = learned_in(&heard).split_off(2);
    answer.sort();
    assert_eq!(
        answer,
        [
            ("page".to_string(), "u1".to_string()),
            ("page".to_string(), "u2".to_string())
        ]
    );
    // Nothing learned since: the next hello sends nothing.
    channel.post_message(&hello_since(&ns, since)).unwrap();
    sleep(100).await;
    assert_eq!(learned_in(&heard).len(), 4, "nothing to send");
    // Learned now: announced at once (a worker was heard), and at the next hello in case it
    // had stopped meanwhile.
    page.get("u3").await;
    wait_until("u3 announced", 2_000, || learned_in(&heard).len() >= 5).await;
    channel.post_message(&hello_since(&ns, since)).unwrap();
    wait_until("the answer", 2_000, || learned_in(&heard).len() >= 6).await;
    sleep(100).await;
    assert_eq!(
        learned_in(&heard)[4..],
        [
            ("page".to_string(), "u3".to_string()),
            ("page".to_string(), "u3".to_string())
        ]
    );
    // A worker holding nothing, or a `since` that is no time, is sent everything.
    tab.call("close", &[]).unwrap();
    for since in [json!(0), json!("yesterday"), json!(-5), json!(null)] {
        let before = learned_in(&heard).len();
        let hello = json!({ "namespace": ns, "hello": 1, "since": since });
        channel
            .post_message(&JSON::parse(&hello.to_string()).unwrap())
            .unwrap();
        wait_until("the page's answer", 2_000, || {
            learned_in(&heard).len() >= before + 4
        })
        .await;
        sleep(50).await;
        assert_eq!(learned_in(&heard).len(), before + 4, "u0 to u3 again");
    }
    // Logging out leaves no user id behind in the notes: they say "everything" (the next hello
    // is answered with every record learned after the logout).
    page.get("u4").await;
    sleep(20).await;
    let noted = storage().get_item(&handover).unwrap().unwrap();
    assert!(noted.contains("u4"), "{noted}");
    page.call_async("clear", &[]).await.unwrap();
    assert_eq!(storage().get_item(&handover).unwrap().as_deref(), Some("*"));
    let before = learned_in(&heard).len();
    page.get("u5").await;
    wait_until("u5 announced", 2_000, || learned_in(&heard).len() > before).await;
    channel.post_message(&hello_since(&ns, since)).unwrap();
    wait_until("the answer", 2_000, || {
        learned_in(&heard).len() > before + 1
    })
    .await;
    sleep(50).await;
    assert_eq!(
        learned_in(&heard)[before..],
        [
            ("page".to_string(), "u5".to_string()),
            ("page".to_string(), "u5".to_string())
        ],
        "u5 announced, then the answer: the one record held since the logout"
    );
}

#[wasm_bindgen_test]
async fn a_new_worker_is_sent_thousands_of_records_in_bounded_messages() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let now = now_ms();
    for i in 0..1_234 {
        let user = format!("m{i}");
        let record = json!({
            "userId": user, "imageId": format!("img-{user}"),
            "remoteUrl": format!("https://bucket.test/img-{user}.png"),
            "urlExpiresAt": now + 3_600_000.0, "fetchedAt": now - 1_000.0, "version": 1,
        });
        storage()
            .set_item(&local_key(&ns, &user, 1), &record.to_string())
            .unwrap();
    }
    // Not this namespace's records, or not records at all: never sent.
    storage()
        .set_item(&local_key(&ns, "garbage", 1), "{not json")
        .unwrap();
    storage().set_item(&local_key(&ns, "old", 2), "{}").unwrap();
    let page = open(config(&ns, &backend, json!({}))).await;
    let (channel, heard) = listen(&ns);
    channel.post_message(&hello_message(&ns)).unwrap();
    wait_until("every record handed over", 5_000, || {
        learned_in(&heard).len() >= 1_234
    })
    .await;
    sleep(50).await;
    let mut users: Vec<String> = learned_in(&heard).into_iter().map(|(_, u)| u).collect();
    users.sort();
    users.dedup();
    assert_eq!(users.len(), 1_234);
    assert_eq!(learned_in(&heard).len(), 1_234, "each once");
    assert_eq!(learned_messages(&heard), 3, "500 + 500 + 234");
    assert_eq!(backend.calls(Endpoint::User), 0);
    page.close();
    for i in 0..1_234 {
        let _ = storage().remove_item(&local_key(&ns, &format!("m{i}"), 1));
    }
}

#[wasm_bindgen_test]
async fn malformed_learned_messages_are_ignored() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let page = open(config(&ns, &backend, json!({}))).await;
    let (channel, _heard) = listen(&ns);
    let valid = learned_message(&ns, "u1", "img-u1", "worker");
    let with = |name: &str, value: JsValue| {
        let m = js_sys::JSON::parse(
            &js_sys::JSON::stringify(&valid)
                .unwrap()
                .as_string()
                .unwrap(),
        )
        .unwrap();
        js_sys::Reflect::set(&m, &name.into(), &value).unwrap();
        m
    };
    for bad in [
        with(
            "users",
            js_sys::Array::of2(&"u1".into(), &"u2".into()).into(),
        ),
        with("users", js_sys::Array::of1(&"u2".into()).into()),
        with("records", js_sys::Array::of1(&"{not json".into()).into()),
        with("records", js_sys::Array::of1(&7.into()).into()),
        with("by", "someone".into()),
        with("learned", 2.into()),
        with("users", "u1".into()),
    ] {
        channel.post_message(&bad).unwrap();
    }
    sleep(100).await;
    page.get("u1").await;
    page.get("u2").await;
    assert_eq!(
        backend.calls(Endpoint::User),
        2,
        "nothing was kept from a malformed message"
    );
}
