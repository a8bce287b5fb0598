//! [`Thumbnails`] in the browser: an image Blob decoded at small size for its ThumbHash.
//!
//! `createImageBitmap(blob)` (without colour management), then drawn onto an `OffscreenCanvas` of at most
//! [`THUMBNAIL_SIDE`] px on the long side (keeping the aspect), read back with `getImageData`;
//! the bitmap is closed on every path. Works in windows and workers. Where `createImageBitmap`
//! or `OffscreenCanvas` is missing (older Safari, some embedded engines), or the image does not
//! decode, the answer is `None`: no preview, never an exception.

use futures::FutureExt;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ImageBitmap, OffscreenCanvas, OffscreenCanvasRenderingContext2d};

use super::{LocalFuture, SmallImage, Thumbnails, THUMBNAIL_SIDE};

/// The browser's image decoder, used through `createImageBitmap` and `OffscreenCanvas`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserThumbnails;

impl Thumbnails<Blob> for BrowserThumbnails {
    fn decode(&self, body: Blob) -> LocalFuture<'static, Option<SmallImage>> {
        async move { decode_small(&body).await }.boxed_local()
    }
}

/// The function `name` of the global scope, if there is one.
fn global_function(name: &str) -> Option<Function> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()?
        .dyn_into::<Function>()
        .ok()
}

/// The size an image of `width` × `height` is drawn at: at most `side` on the long side, at
/// least 1 px on the short side.
pub fn small_size(width: u32, height: u32, side: u32) -> (u32, u32) {
    let long = width.max(height).max(1);
    if long <= side {
        return (width.max(1), height.max(1));
    }
    let scale = |v: u32| ((v as u64 * side as u64 + long as u64 / 2) / long as u64).max(1) as u32;
    (scale(width), scale(height))
}

/// `blob` decoded at small size; `None` where the browser cannot or the image does not decode.
pub async fn decode_small(blob: &Blob) -> Option<SmallImage> {
    let create = global_function("createImageBitmap")?;
    global_function("OffscreenCanvas")?;
    // The preview is a 32 px blur: the embedded colour profile is not worth applying (a quarter
    // of the decode's time in Chromium), nor premultiplying alpha that `getImageData` undoes.
    let options = crate::js_object::JsObject::new()
        .set("colorSpaceConversion", "none")
        .set("premultiplyAlpha", "none");
    let promise = create
        .call2(&js_sys::global(), blob, &options.into())
        .ok()?
        .dyn_into::<Promise>()
        .ok()?;
    let bitmap = JsFuture::from(promise)
        .await
        .ok()?
        .dyn_into::<ImageBitmap>()
        .ok()?;
    let pixels = draw_small(&bitmap);
    bitmap.close();
    pixels
}

fn draw_small(bitmap: &ImageBitmap) -> Option<SmallImage> {
    let (width, height) = (bitmap.width(), bitmap.height());
    if width == 0 || height == 0 {
        return None;
    }
    let (w, h) = small_size(width, height, THUMBNAIL_SIDE as u32);
    let canvas = OffscreenCanvas::new(w, h).ok()?;
    let context = canvas
        .get_context("2d")
        .ok()??
        .dyn_into::<OffscreenCanvasRenderingContext2d>()
        .ok()?;
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w as f64, h as f64)
        .ok()?;
    let data = context.get_image_data(0.0, 0.0, w as f64, h as f64).ok()?;
    let rgba = data.data().0;
    (rgba.len() == (w * h * 4) as usize).then_some(SmallImage {
        width: w as usize,
        height: h as usize,
        rgba,
    })
}
