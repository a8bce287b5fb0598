//! Several instances on one origin behave as several tabs do: changes reach the others over
//! `BroadcastChannel` (which delivers between objects of one page too), and a picture asked for
//! everywhere at once is fetched once (Web Locks).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::future::join_all;
use serde_json::json;
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
async fn tabs_of_another_version_or_namespace_ignore_each_other() {
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
    a.clear().await;
    sleep(150).await;
    assert!(heard_version.users().is_empty());
    assert!(heard_namespace.users().is_empty());
    assert!(other_version.peek("u1").is_object());
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
