//! [`Thumbnails`] in the browser: an image Blob decoded at small size for its ThumbHash.
//!
//! The decode is a few lines of the platform's own API, so it is written in JS (`smallPixels`
//! below): the image is decoded, drawn onto an `OffscreenCanvas` of at most [`THUMBNAIL_SIDE`]
//! px on the long side (keeping the aspect) and read back with `getImageData`; every decoded
//! frame or bitmap is closed on every path.
//!
//! Two decoders, the cheaper first:
//! - **The bytes, with `ImageDecoder`** (WebCodecs), for an image whose bytes this page has just
//!   had in hand: a download or an upload offers them ([`offer_bytes`]) as it makes the Blob.
//!   Decoding bytes in hand skips reading the Blob back: 0.44–0.60 ms against 0.9–1.6 ms for
//!   `createImageBitmap` of the same 128 px PNG in Chromium (plain JS, medians of 90).
//! - **The Blob, with `createImageBitmap`**, for every other image (one read back from
//!   IndexedDB, an engine without `ImageDecoder` such as WebKit, bytes `ImageDecoder` refuses).
//!
//! Where neither decoder or `OffscreenCanvas` exists (older Safari, some embedded engines), or
//! the image does not decode, the answer is `None`: no preview, never an exception. Works in
//! windows and workers.
use std::cell::RefCell;

use futures::FutureExt;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ImageData};

use super::{LocalFuture, SmallImage, Thumbnails, THUMBNAIL_SIDE};

#[wasm_bindgen(inline_js = r#"
export async function smallPixels(blob, bytes, side) {
  let image = null;
  let close = () => {};
  try {
    if (typeof OffscreenCanvas !== "function") return null;
    if (bytes && typeof ImageDecoder === "function") {
      try {
        // The preview is a 32 px blur: the embedded colour profile is not worth applying.
        const decoder = new ImageDecoder({ data: bytes, type: blob.type, colorSpaceConversion: "none" });
        close = () => decoder.close();
        image = (await decoder.decode()).image;
        close = () => (image.close(), decoder.close());
      } catch {
        close();
        image = null;
      }
    }
    if (!image) {
      if (typeof createImageBitmap !== "function") return null;
      // Nor premultiplied alpha, which getImageData undoes.
      image = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
      close = () => image.close();
    }
    const width = image.displayWidth ?? image.width;
    const height = image.displayHeight ?? image.height;
    if (!width || !height) return null;
    const long = Math.max(width, height);
    const scale = (v) => Math.max(1, long <= side ? v : Math.round((v * side) / long));
    const [w, h] = [scale(width), scale(height)];
    const context = new OffscreenCanvas(w, h).getContext("2d", { willReadFrequently: true });
    context.drawImage(image, 0, 0, w, h);
    return context.getImageData(0, 0, w, h);
  } catch {
    return null;
  } finally {
    close();
  }
}
"#)]
extern "C" {
    /// `blob` (or `bytes`, its content, when given) decoded and drawn at most `side` px on its
    /// long side; resolves to the `ImageData`, or null where it cannot be. Never rejects.
    #[wasm_bindgen(js_name = smallPixels)]
    fn small_pixels(blob: &Blob, bytes: Option<&Uint8Array>, side: u32) -> Promise;
}

/// How many offered images are kept, and how many bytes in all: an image is hashed right after
/// its download, so an offer is taken within a task or two; the bound only matters for offers
/// nobody takes (the backend sent the image's hash).
const MAX_OFFERS: usize = 16;
const MAX_OFFERED_BYTES: u32 = 1024 * 1024;

thread_local! {
    /// The bytes of the images this page made Blobs of last, by Blob (oldest first).
    static OFFERS: RefCell<Vec<(Blob, Uint8Array)>> = const { RefCell::new(Vec::new()) };
}

/// Offers `bytes`, the content of `blob` this page has just made, to the decoder: the image's
/// preview then decodes them instead of reading the Blob back. Kept until taken, or until
/// newer offers push them out. A build without the page's class (the service worker's module,
/// which computes no previews) keeps nothing.
pub fn offer_bytes(blob: &Blob, bytes: &Uint8Array) {
    if !cfg!(feature = "page") {
        return;
    }
    OFFERS.with(|offers| {
        let mut offers = offers.borrow_mut();
        offers.push((blob.clone(), bytes.clone()));
        let mut total: u32 = offers.iter().map(|(_, b)| b.length()).sum();
        while offers.len() > MAX_OFFERS || (total > MAX_OFFERED_BYTES && offers.len() > 1) {
            total -= offers.remove(0).1.length();
        }
    });
}

/// The bytes offered for `blob`, taken (an image is decoded once).
fn take_bytes(blob: &Blob) -> Option<Uint8Array> {
    OFFERS.with(|offers| {
        let mut offers = offers.borrow_mut();
        let at = offers.iter().position(|(b, _)| b == blob)?;
        Some(offers.remove(at).1)
    })
}

/// The browser's image decoders, used through `ImageDecoder` or `createImageBitmap`, and
/// `OffscreenCanvas`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserThumbnails;

impl Thumbnails<Blob> for BrowserThumbnails {
    fn decode(&self, body: Blob) -> LocalFuture<'static, Option<SmallImage>> {
        async move { decode_small(&body).await }.boxed_local()
    }
}

/// `blob` decoded at small size (from its offered bytes when there are some); `None` where
/// the browser cannot or the image does not decode.
pub async fn decode_small(blob: &Blob) -> Option<SmallImage> {
    let bytes = take_bytes(blob);
    let pixels = small_pixels(blob, bytes.as_ref(), THUMBNAIL_SIDE as u32);
    let data: ImageData = JsFuture::from(pixels).await.ok()?.dyn_into().ok()?;
    let (width, height) = (data.width() as usize, data.height() as usize);
    let rgba = data.data().0;
    (width > 0 && height > 0 && rgba.len() == width * height * 4).then_some(SmallImage {
        width,
        height,
        rgba,
    })
}
