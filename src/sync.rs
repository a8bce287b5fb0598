//! Cross-tab coherence: changes made in one tab (`setPicture`, `invalidate`, `clear`) reach
//! every other tab of the origin over a `BroadcastChannel`.
//!
//! A message names the namespace and version it was sent under; tabs running another namespace
//! or version ignore it. Received changes are applied without being sent again, so there are no
//! echo loops. Where `BroadcastChannel` is missing, the cache works per tab.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::config::Config;
use crate::hierarchy::{Change, Hierarchy};
use crate::js_object::{field, number_field, string_field, JsObject};
use crate::record::PictureRecord;

/// One message on the channel: `{ namespace, version, userId, record? }`.
#[derive(Debug, Clone, PartialEq)]
struct Message {
    namespace: String,
    version: u32,
    /// The user whose picture changed; `None` when everything was cleared.
    user_id: Option<String>,
    /// The user's new record (JSON, as localStorage holds it), when there is one. Decoded as
    /// untrusted on arrival.
    record: Option<String>,
}

impl Message {
    fn to_js(&self) -> JsValue {
        JsObject::new()
            .set("namespace", self.namespace.as_str())
            .set("version", self.version)
            .set(
                "userId",
                self.user_id.as_deref().map_or(JsValue::NULL, JsValue::from),
            )
            .set_some("record", self.record.as_deref())
            .into()
    }

    /// The message in `data`, if it is one (anything else on the channel is ignored).
    fn from_js(data: &JsValue) -> Option<Message> {
        let version = number_field(data, "version")?;
        let user_id = field(data, "userId");
        let record = field(data, "record");
        Some(Message {
            namespace: string_field(data, "namespace")?,
            version: (version.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&version))
                .then_some(version as u32)?,
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
        })
    }
}

/// A running cross-tab link. Dropping it does not stop it; call [`CrossTab::stop`].
pub struct CrossTab {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// The channel name for a namespace: one channel per namespace, whatever the version.
pub fn channel_name(namespace: &str) -> String {
    format!("avatar-cache:{namespace}")
}

impl CrossTab {
    /// Links `hierarchy` to the other tabs; `None` where `BroadcastChannel` is unavailable.
    pub fn start<I: Clone + 'static>(config: &Config, hierarchy: Hierarchy<I>) -> Option<CrossTab> {
        let channel = BroadcastChannel::new(&channel_name(&config.namespace)).ok()?;
        let (namespace, version) = (config.namespace.clone(), config.version);

        let receiver = hierarchy.clone();
        let (ns, v) = (namespace.clone(), version);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(message) = Message::from_js(&event.data()) else {
                return;
            };
            if message.namespace != ns || message.version != v || receiver.is_closed() {
                return;
            }
            let now = js_sys::Date::now();
            let change = match (message.user_id, message.record) {
                (Some(user), Some(text)) => match PictureRecord::decode(&text, &user, v, now) {
                    Ok(record) => Change::Updated(record),
                    Err(_) => Change::User(user),
                },
                (Some(user), None) => Change::User(user),
                (None, _) => Change::All,
            };
            receiver.apply_remote_change(&change);
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let sender = channel.clone();
        hierarchy.set_change_hook(Some(Rc::new(move |change: &Change| {
            let message = Message {
                namespace: namespace.clone(),
                version,
                user_id: match change {
                    Change::User(user) => Some(user.clone()),
                    Change::Updated(record) => Some(record.user_id.clone()),
                    Change::All => None,
                },
                record: match change {
                    Change::Updated(record) => Some(record.to_json()),
                    _ => None,
                },
            };
            let _ = sender.post_message(&message.to_js());
        })));
        Some(CrossTab {
            channel,
            _on_message: on_message,
        })
    }

    /// Stops listening and closes the channel.
    pub fn stop(self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
