//! A scripted backend and object storage that follow the contract of DESIGN.md §4 over maps.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::future::FutureExt;

use super::Bytes;
use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};
use crate::layers::{Backend, Download, LocalFuture, RemotePicture, Runtime};

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
    /// URLs answered for an image instead of its presigned one (a hostile or broken backend).
    answer_urls: Rc<RefCell<HashMap<String, String>>>,
    /// Every URL a download was asked for, in order.
    download_urls: Rc<RefCell<Vec<String>>>,
    /// What was asked so far.
    pub counters: Rc<RefCell<BackendCounters>>,
}

/// The PNG signature followed by filler: enough for the native layers, which do not decode.
pub fn fake_png(seed: &str, len: usize) -> Bytes {
    // The signature and an IHDR chunk declaring 128 × 128 (its CRC is not checked here).
    let mut bytes = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    bytes.extend(128u32.to_be_bytes());
    bytes.extend(128u32.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let header = bytes.len();
    bytes.extend(seed.bytes().cycle().take(len.saturating_sub(header)));
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
            answer_urls: Rc::default(),
            download_urls: Rc::default(),
            counters: Rc::default(),
        }
    }

    /// Makes answers about `image_id` carry `thumbhash` (the optional field of DESIGN.md §4).
    pub fn set_thumbhash(&self, image_id: &str, thumbhash: &str) {
        self.thumbhashes
            .borrow_mut()
            .insert(image_id.to_string(), thumbhash.to_string());
    }

    /// Makes the image endpoint answer `url` for `image_id` (a URL of any scheme), as a
    /// hostile or broken backend would.
    pub fn set_answer_url(&self, image_id: &str, url: &str) {
        self.answer_urls
            .borrow_mut()
            .insert(image_id.to_string(), url.to_string());
    }

    /// Every URL a download was asked for so far, whatever the answer.
    pub fn download_urls(&self) -> Vec<String> {
        self.download_urls.borrow().clone()
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
                    url: match self.answer_urls.borrow().get(image_id) {
                        Some(url) => url.clone(),
                        None => self.presign(image_id),
                    },
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
        self.download_urls.borrow_mut().push(url.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_are_utc_civil_time() {
        assert_eq!(amz_date(0.0), "19700101T000000Z");
        assert_eq!(amz_date(1_795_827_600_000.0), "20261128T010000Z");
    }
}
