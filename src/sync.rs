//! Cross-tab coherence: changes made in one tab (`setPicture`, `invalidate`, `clear`) reach
//! every other tab of the origin over a `BroadcastChannel`.
//!
//! A message names the namespace and version it was sent under; tabs running another namespace
//! or version ignore it. Received changes are applied without being sent again, so there are no
//! echo loops. Where `BroadcastChannel` is missing, the cache works per tab.
//!
//! Pages keep records in localStorage, their service worker in IndexedDB (a worker has no
//! localStorage). So that neither asks the backend for a user the other already fetched, each
//! record written from the backend also goes out as a *learned* message: from the worker to the
//! pages, and from a page to the worker when one controls it or is in its registration; and a
//! worker that starts says
//! hello, to which pages answer with the records they hold (the first visit's, fetched before
//! the worker was installed). Tabs share localStorage and ignore what other tabs learned. A
//! learned record is kept, not announced: no subscriber is told.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::clock::Millis;
use crate::config::Config;
use crate::hierarchy::{Change, Hierarchy};
use crate::js_object::{field, number_field, string_field, JsObject};
use crate::record::PictureRecord;

/// Which side of the channel a cache is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A page (`AvatarCache`): records in localStorage.
    Page,
    /// The service worker (`AvatarWorker`): records in IndexedDB.
    Worker,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Page => "page",
            Role::Worker => "worker",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "page" => Some(Role::Page),
            "worker" => Some(Role::Worker),
            _ => None,
        }
    }
}

/// One message on the channel. Three shapes, told apart by their fields:
///
/// - a change, `{ namespace, version, userId, record? }` (`userId: null`: everything cleared);
/// - records fetched from the backend, `{ namespace, learned: version, by, users, records }`
///   (`by`: `"page"` or `"worker"`; `records[i]` is the JSON of `users[i]`'s record);
/// - a service worker that started, `{ namespace, hello: version, since? }` (`since`: the newest
///   `fetchedAt` it holds; absent or 0 when it holds none): pages answer with every record they
///   hold when it holds none, else with those learned from the backend since a worker last
///   started, in messages of at most [`HANDOVER_CHUNK`] records.
///
/// The last two carry no `version` field, so a release that knows only changes ignores them.
#[derive(Debug, Clone, PartialEq)]
enum Message {
    /// A change made in a tab.
    Change {
        /// The user whose picture changed; `None` when everything was cleared.
        user_id: Option<String>,
        /// The user's new record (JSON, as localStorage holds it), when there is one. Decoded
        /// as untrusted on arrival.
        record: Option<String>,
    },
    /// Records fetched from the backend by `by`: `(user, record JSON)`.
    Learned {
        by: Role,
        records: Vec<(String, String)>,
    },
    /// The service worker started, holding records fetched up to `since` (ms since epoch; 0
    /// when it holds none): pages hand it what it lacks.
    Hello { since: Millis },
}

/// A message with the namespace and version it was sent under.
#[derive(Debug, Clone, PartialEq)]
struct Envelope {
    namespace: String,
    version: u32,
    message: Message,
}

impl Envelope {
    fn to_js(&self) -> JsValue {
        let out = JsObject::new().set("namespace", self.namespace.as_str());
        match &self.message {
            Message::Change { user_id, record } => out
                .set("version", self.version)
                .set(
                    "userId",
                    user_id.as_deref().map_or(JsValue::NULL, JsValue::from),
                )
                .set_some("record", record.as_deref()),
            Message::Learned { by, records } => {
                let (users, texts): (js_sys::Array, js_sys::Array) = (
                    records
                        .iter()
                        .map(|(u, _)| JsValue::from(u.as_str()))
                        .collect(),
                    records
                        .iter()
                        .map(|(_, r)| JsValue::from(r.as_str()))
                        .collect(),
                );
                out.set("learned", self.version)
                    .set("by", by.as_str())
                    .set("users", users)
                    .set("records", texts)
            }
            Message::Hello { since } => out
                .set("hello", self.version)
                .set_some("since", (*since > 0.0).then_some(*since)),
        }
        .into()
    }

    /// The message in `data`, if it is one (anything else on the channel is ignored).
    fn from_js(data: &JsValue) -> Option<Envelope> {
        let namespace = string_field(data, "namespace")?;
        let version_in = |name: &'static str| {
            number_field(data, name).and_then(|v| {
                (v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v)).then_some(v as u32)
            })
        };
        let (version, message) = if let Some(version) = version_in("hello") {
            // A missing or unusable `since` asks for everything.
            let since = number_field(data, "since")
                .filter(|t| t.is_finite() && *t > 0.0)
                .unwrap_or(0.0);
            (version, Message::Hello { since })
        } else if let Some(version) = version_in("learned") {
            let by = Role::parse(&string_field(data, "by")?)?;
            let (users, texts) = (field(data, "users"), field(data, "records"));
            let (users, texts) = (
                users.dyn_ref::<js_sys::Array>()?,
                texts.dyn_ref::<js_sys::Array>()?,
            );
            if users.length() != texts.length() || users.length() > MAX_LEARNED {
                return None;
            }
            let mut records = Vec::with_capacity(users.length() as usize);
            for i in 0..users.length() {
                records.push((users.get(i).as_string()?, texts.get(i).as_string()?));
            }
            (version, Message::Learned { by, records })
        } else {
            let version = number_field(data, "version")?;
            let user_id = field(data, "userId");
            let record = field(data, "record");
            let version = (version.fract() == 0.0
                && (0.0..=f64::from(u32::MAX)).contains(&version))
            .then_some(version as u32)?;
            let change = Message::Change {
                user_id: match user_id.as_string() {
                    Some(user) => Some(user),
                    None if user_id.is_null() || user_id.is_undefined() => None,
                    None => return None,
                },
                record: match record.as_string() {
                    Some(text) => Some(text),
                    None if record.is_null() || record.is_undefined() => None,
                    None => return None,
                },
            };
            (version, change)
        };
        Some(Envelope {
            namespace,
            version,
            message,
        })
    }
}

/// The most records one `learned` message may carry.
const MAX_LEARNED: u32 = 10_000;

/// The records per message of a page's answer to a hello: a worker that starts for the first
/// time is sent everything localStorage holds, which may be thousands.
const HANDOVER_CHUNK: usize = 500;

/// A running cross-tab link. Dropping it does not stop it; call [`CrossTab::stop`].
pub struct CrossTab {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    /// A page's `controllerchange` listener on `navigator.serviceWorker`.
    on_control: Option<(JsValue, Closure<dyn FnMut()>)>,
}

/// The channel name for a namespace: one channel per namespace, whatever the version.
pub fn channel_name(namespace: &str) -> String {
    format!("avatar-cache:{namespace}")
}

/// The most messages an [`EarlyChannel`] keeps (a context's stores open in milliseconds; a
/// flood is cut, not kept).
const EARLY_MESSAGES_KEPT: usize = 256;

/// The namespace's channel opened before a context's stores (a service worker that is
/// starting): what it hears while they open is kept and handed to [`CrossTab::start`], so that
/// a logout or a change posted meanwhile is applied to the records the stores read, not missed
/// (a channel hears only what is posted after it exists).
pub struct EarlyChannel {
    channel: BroadcastChannel,
    heard: Rc<RefCell<Vec<JsValue>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl EarlyChannel {
    /// Opens the channel of `namespace` and starts keeping what it hears; `None` where
    /// `BroadcastChannel` is unavailable.
    pub fn open(namespace: &str) -> Option<EarlyChannel> {
        let channel = BroadcastChannel::new(&channel_name(namespace)).ok()?;
        let heard = Rc::new(RefCell::new(Vec::new()));
        let keep = heard.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let mut heard = keep.borrow_mut();
            if heard.len() < EARLY_MESSAGES_KEPT {
                heard.push(event.data());
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(EarlyChannel {
            channel,
            heard,
            _on_message: on_message,
        })
    }
}

impl CrossTab {
    /// Links `hierarchy`, running as `role`, to the other tabs and the service worker; `None`
    /// where `BroadcastChannel` is unavailable. A worker says hello at once. With `early`, the
    /// channel opened before the stores: what it heard meanwhile is applied first.
    pub fn start<I: Clone + 'static>(
        config: &Config,
        hierarchy: Hierarchy<I>,
        role: Role,
        early: Option<EarlyChannel>,
    ) -> Option<CrossTab> {
        let (channel, heard_early) = match early {
            Some(early) => (early.channel, early.heard.take()),
            None => (
                BroadcastChannel::new(&channel_name(&config.namespace)).ok()?,
                Vec::new(),
            ),
        };
        let (namespace, version) = (config.namespace.clone(), config.version);
        let post = {
            let channel = channel.clone();
            move |message: Message| {
                let envelope = Envelope {
                    namespace: namespace.clone(),
                    version,
                    message,
                };
                let _ = channel.post_message(&envelope.to_js());
            }
        };

        // Whether a service worker said hello to this page or took control of it: from then on
        // it is listening, even before it controls the page (a first visit).
        let worker_heard = Rc::new(Cell::new(false));
        if role == Role::Page {
            // A worker installing for this page (a first visit) listens from its start, before
            // it controls the page, and may have said hello before this page listened: with a
            // worker in this page's registration, what the page learns is handed over at once,
            // not only when the worker takes control (then its first answers could come before
            // the hand-over, and ask the backend again).
            let heard = worker_heard.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if registered_worker().await {
                    heard.set(true);
                }
            });
        }
        // A page greeting a worker: the records it lacks, and from now on each the page
        // learns. A worker that holds none (`since` 0) is sent every record (read without
        // decoding them: the worker checks what it keeps); one that holds records lacks only
        // what was learned while it was stopped, which every tab notes in localStorage (see
        // `Hierarchy::texts_to_hand_over`): a few point reads instead of a scan of every record
        // (10,000 records: 40–130 ms of the page's main thread in Chromium).
        let hand_over = {
            let (post, hierarchy, heard) = (post.clone(), hierarchy.clone(), worker_heard.clone());
            Rc::new(move |since: Millis| {
                heard.set(true);
                let records = hierarchy.texts_to_hand_over(since);
                for chunk in records.chunks(HANDOVER_CHUNK) {
                    post(Message::Learned {
                        by: Role::Page,
                        records: chunk.to_vec(),
                    });
                }
            })
        };
        let receiver = hierarchy.clone();
        let greet = hand_over.clone();
        let ns = config.namespace.clone();
        let handle = move |data: &JsValue| {
            let Some(envelope) = Envelope::from_js(data) else {
                return;
            };
            if envelope.namespace != ns || receiver.is_closed() {
                return;
            }
            // A logout is every version's: its `clear()` emptied the storage they share (every
            // version's localStorage keys, the image store, the worker's records), so a tab or
            // worker of another version (open across a deploy) drops what it holds too. Any
            // other message speaks of records in its own version's format.
            let logout = matches!(envelope.message, Message::Change { user_id: None, .. });
            if envelope.version != version && !logout {
                return;
            }
            let now = js_sys::Date::now();
            let change = match envelope.message {
                // Only the other side keeps records elsewhere: tabs share localStorage.
                Message::Learned { by, records } => {
                    if by != role {
                        for (user, text) in records {
                            if let Ok(record) = PictureRecord::decode(&text, &user, version, now) {
                                receiver.apply_learned(record);
                            }
                        }
                    }
                    return;
                }
                Message::Hello { since } => {
                    if role == Role::Page {
                        greet(since);
                    }
                    return;
                }
                Message::Change {
                    user_id: Some(user),
                    record: Some(text),
                } => match PictureRecord::decode(&text, &user, version, now) {
                    Ok(record) => Change::Updated(record),
                    Err(_) => Change::User(user),
                },
                Message::Change {
                    user_id: Some(user),
                    record: None,
                } => Change::User(user),
                Message::Change { user_id: None, .. } => Change::All,
            };
            receiver.apply_remote_change(&change);
        };
        let handle = Rc::new(handle);
        let on_message = {
            let handle = handle.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                handle(&event.data())
            })
        };
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        for data in &heard_early {
            handle(data);
        }

        let send = post.clone();
        hierarchy.set_change_hook(Some(Rc::new(move |change: &Change| {
            send(Message::Change {
                user_id: match change {
                    Change::User(user) => Some(user.clone()),
                    Change::Updated(record) => Some(record.user_id.clone()),
                    Change::All => None,
                },
                record: match change {
                    Change::Updated(record) => Some(record.to_json()),
                    _ => None,
                },
            });
        })));
        let send = post.clone();
        hierarchy.set_learn_hook(Some(Rc::new(move |record: &PictureRecord| {
            if role == Role::Page && !worker_heard.get() && !controlled_by_a_worker() {
                return;
            }
            send(Message::Learned {
                by: role,
                records: vec![(record.user_id.clone(), record.to_json())],
            });
        })));
        // A worker that takes control of this page may have said hello before the page listened
        // (its install raced the page's start): greet it then.
        let on_control = match role {
            Role::Worker => {
                let since = hierarchy
                    .local_records()
                    .iter()
                    .map(|r| r.fetched_at)
                    .fold(0.0, Millis::max);
                post(Message::Hello { since });
                None
            }
            Role::Page => {
                let container = field(&field(&js_sys::global(), "navigator"), "serviceWorker");
                let on_control = Closure::<dyn FnMut()>::new(move || hand_over(0.0));
                container
                    .dyn_ref::<web_sys::EventTarget>()
                    .and_then(|target| {
                        target
                            .add_event_listener_with_callback(
                                "controllerchange",
                                on_control.as_ref().unchecked_ref(),
                            )
                            .ok()
                    })
                    .map(|()| (container, on_control))
            }
        };
        Some(CrossTab {
            channel,
            _on_message: on_message,
            on_control,
        })
    }

    /// Stops listening and closes the channel.
    pub fn stop(self) {
        self.channel.set_onmessage(None);
        self.channel.close();
        if let Some((container, listener)) = &self.on_control {
            let target: &web_sys::EventTarget = container.unchecked_ref();
            let _ = target.remove_event_listener_with_callback(
                "controllerchange",
                listener.as_ref().unchecked_ref(),
            );
        }
    }
}

/// Whether this page's service worker registration has a worker (installing, waiting or
/// active): `navigator.serviceWorker.getRegistration()`. False where there is none, or no
/// service workers at all.
async fn registered_worker() -> bool {
    let container = field(&field(&js_sys::global(), "navigator"), "serviceWorker");
    let Some(get) = field(&container, "getRegistration")
        .dyn_ref::<js_sys::Function>()
        .cloned()
    else {
        return false;
    };
    let Ok(promise) = get.call0(&container) else {
        return false;
    };
    let Ok(registration) =
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await
    else {
        return false;
    };
    ["installing", "waiting", "active"].iter().any(|name| {
        let worker = field(&registration, name);
        !worker.is_null() && !worker.is_undefined()
    })
}

/// Whether a service worker controls this page (`navigator.serviceWorker.controller`): then it
/// listens for the records the page learns, even if it started before this page (no hello heard).
fn controlled_by_a_worker() -> bool {
    let navigator = field(&js_sys::global(), "navigator");
    let controller = field(&field(&navigator, "serviceWorker"), "controller");
    !controller.is_null() && !controller.is_undefined()
}
