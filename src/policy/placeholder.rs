//! What does this picture look like, in 25 bytes, before its bytes are read?
//!
//! A [ThumbHash](https://evanw.github.io/thumbhash/) (evanw's `thumbhash` crate) of an image
//! decoded at small size, kept as base64 in the picture record, and rendered back to a tiny
//! `data:image/png;base64,…` URL that an `<img>` shows on the first frame after a reload.
//!
//! Hashes come from storage and from the backend, so nothing here trusts them: a hash whose
//! length does not match its own header, that is not base64, or whose aspect gives an empty image
//! is `None`, never a panic.

use super::png;

/// The largest image side [`hash_rgba`] accepts (the `thumbhash` crate's own limit).
pub const MAX_HASH_INPUT_SIDE: usize = 100;
/// The longest side of a rendered preview, in pixels: keeps a data URL about 1.5 KB.
pub const PREVIEW_SIDE: usize = 16;
/// The longest base64 hash accepted (a real one is 25–35 characters).
pub const MAX_HASH_CHARS: usize = 64;
/// What every preview URL starts with.
pub const DATA_URL_PREFIX: &str = "data:image/png;base64,";

/// The ThumbHash of a `width` × `height` RGBA image (row by row, not premultiplied), as base64.
/// `None` when a side is 0 or over [`MAX_HASH_INPUT_SIDE`], or the pixels do not match the sizes.
pub fn hash_rgba(width: usize, height: usize, rgba: &[u8]) -> Option<String> {
    if width == 0 || height == 0 || width > MAX_HASH_INPUT_SIDE || height > MAX_HASH_INPUT_SIDE {
        return None;
    }
    if rgba.len() != width * height * 4 {
        return None;
    }
    // The hash keeps up to 7 coefficients a side; a side of fewer than 4 pixels aliases them
    // (a plain 1-px-wide image would hash as stripes), so such an image is first scaled up by a
    // whole factor (keeping its aspect, within the 100 px limit).
    let factor = MIN_HASH_SIDE.div_ceil(width.min(height));
    let (w, h) = (
        (width * factor).min(MAX_HASH_INPUT_SIDE),
        (height * factor).min(MAX_HASH_INPUT_SIDE),
    );
    let hash = if (w, h) == (width, height) {
        thumbhash::rgba_to_thumb_hash(width, height, rgba)
    } else {
        let mut stretched = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            let row = y * height / h * width;
            for x in 0..w {
                let at = (row + x * width / w) * 4;
                stretched.extend_from_slice(&rgba[at..at + 4]);
            }
        }
        thumbhash::rgba_to_thumb_hash(w, h, &stretched)
    };
    Some(png::base64_encode(&hash))
}

/// The shortest side hashed as it is (see [`hash_rgba`]).
const MIN_HASH_SIDE: usize = 4;

/// The number of AC coefficients the hash stores for an `nx` × `ny` channel (the triangle the
/// `thumbhash` crate keeps).
fn ac_count(nx: usize, ny: usize) -> usize {
    (0..ny)
        .map(|cy| {
            let start = usize::from(cy == 0);
            (start..).take_while(|cx| cx * ny < nx * (ny - cy)).count()
        })
        .sum()
}

/// The hash bytes of a base64 ThumbHash, checked: its length must be exactly what its header
/// says, and its aspect must give a non-empty image. `None` otherwise.
pub fn decode_hash(hash: &str) -> Option<Vec<u8>> {
    if hash.is_empty() || hash.len() > MAX_HASH_CHARS {
        return None;
    }
    let bytes = png::base64_decode(hash)?;
    if bytes.len() < 5 {
        return None;
    }
    let has_alpha = bytes[2] & 0x80 != 0;
    let header16 = bytes[3] as usize | (bytes[4] as usize) << 8;
    let is_landscape = header16 >> 15 != 0;
    let l_max = if has_alpha { 5 } else { 7 };
    let l_min = header16 & 7;
    let lx = 3.max(if is_landscape { l_max } else { l_min });
    let ly = 3.max(if is_landscape { l_min } else { l_max });
    let nibbles =
        ac_count(lx, ly) + 2 * ac_count(3, 3) + if has_alpha { ac_count(5, 5) } else { 0 };
    let expected = 5 + usize::from(has_alpha) + nibbles.div_ceil(2);
    if bytes.len() != expected {
        return None;
    }
    let (width, height) = render_size(&bytes)?;
    (width > 0 && height > 0).then_some(bytes)
}

/// Whether `hash` is a well-formed base64 ThumbHash ([`decode_hash`] accepts it).
pub fn is_valid(hash: &str) -> bool {
    decode_hash(hash).is_some()
}

/// The size `thumb_hash_to_rgba` renders `bytes` at (32 px on the long side).
fn render_size(bytes: &[u8]) -> Option<(usize, usize)> {
    let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(bytes).ok()?;
    if !ratio.is_finite() || ratio <= 0.0 {
        return None;
    }
    Some(if ratio > 1.0 {
        (32, (32.0 / ratio).round() as usize)
    } else {
        ((32.0 * ratio).round() as usize, 32)
    })
}

/// Box-averages a `width` × `height` RGBA image down so that its long side is at most `side`.
pub fn downsample(
    width: usize,
    height: usize,
    rgba: &[u8],
    side: usize,
) -> (usize, usize, Vec<u8>) {
    let long = width.max(height);
    if long <= side || side == 0 {
        return (width, height, rgba.to_vec());
    }
    let to_w = (width * side).div_ceil(long).max(1).min(side);
    let to_h = (height * side).div_ceil(long).max(1).min(side);
    let mut out = Vec::with_capacity(to_w * to_h * 4);
    for y in 0..to_h {
        let (y0, y1) = (y * height / to_h, ((y + 1) * height).div_ceil(to_h));
        for x in 0..to_w {
            let (x0, x1) = (x * width / to_w, ((x + 1) * width).div_ceil(to_w));
            let mut sum = [0u32; 4];
            for sy in y0..y1.min(height) {
                for sx in x0..x1.min(width) {
                    let at = (sy * width + sx) * 4;
                    for (s, &v) in sum.iter_mut().zip(&rgba[at..at + 4]) {
                        *s += v as u32;
                    }
                }
            }
            let n = ((y1.min(height) - y0) * (x1.min(width) - x0)).max(1) as u32;
            out.extend(sum.iter().map(|s| ((s + n / 2) / n) as u8));
        }
    }
    (to_w, to_h, out)
}

/// The most AC coefficients a channel of a hash holds: luminance (7 × 7 at most, the triangle
/// the crate keeps), the two chroma channels (3 × 3) and alpha (5 × 5).
const MAX_L_AC: usize = 32;
const MAX_PQ_AC: usize = 8;
const MAX_A_AC: usize = 16;
/// The longest side [`render_rgba`] renders (the crate's own rendering is 32 px).
pub const MAX_RENDER_SIDE: usize = 32;

/// The coefficients of a hash, read the way `thumbhash::thumb_hash_to_rgba` reads them, into
/// fixed arrays (no allocation).
struct Coefficients {
    l_dc: f32,
    p_dc: f32,
    q_dc: f32,
    a_dc: f32,
    lx: usize,
    ly: usize,
    has_alpha: bool,
    l_ac: [f32; MAX_L_AC],
    p_ac: [f32; MAX_PQ_AC],
    q_ac: [f32; MAX_PQ_AC],
    a_ac: [f32; MAX_A_AC],
}

/// Reads checked hash bytes (see [`decode_hash`]).
fn coefficients(hash: &[u8]) -> Option<Coefficients> {
    let header24 = hash[0] as u32 | (hash[1] as u32) << 8 | (hash[2] as u32) << 16;
    let header16 = hash[3] as u16 | (hash[4] as u16) << 8;
    let l_dc = (header24 & 63) as f32 / 63.0;
    let p_dc = ((header24 >> 6) & 63) as f32 / 31.5 - 1.0;
    let q_dc = ((header24 >> 12) & 63) as f32 / 31.5 - 1.0;
    let l_scale = ((header24 >> 18) & 31) as f32 / 31.0;
    let has_alpha = (header24 >> 23) != 0;
    let p_scale = ((header16 >> 3) & 63) as f32 / 63.0;
    let q_scale = ((header16 >> 9) & 63) as f32 / 63.0;
    let is_landscape = (header16 >> 15) != 0;
    let l_max = if has_alpha { 5 } else { 7 };
    let lx = 3.max(if is_landscape { l_max } else { header16 & 7 }) as usize;
    let ly = 3.max(if is_landscape { header16 & 7 } else { l_max }) as usize;
    let mut at = 5;
    let (a_dc, a_scale) = if has_alpha {
        let header8 = *hash.get(at)?;
        at += 1;
        ((header8 & 15) as f32 / 15.0, (header8 >> 4) as f32 / 15.0)
    } else {
        (1.0, 1.0)
    };
    let mut nibble = 0usize;
    let mut channel = |nx: usize, ny: usize, scale: f32, ac: &mut [f32]| -> Option<()> {
        let mut j = 0;
        for cy in 0..ny {
            let mut cx = usize::from(cy == 0);
            while cx * ny < nx * (ny - cy) {
                let byte = *hash.get(at + nibble / 2)?;
                let bits = if nibble % 2 == 0 {
                    byte & 15
                } else {
                    byte >> 4
                };
                nibble += 1;
                *ac.get_mut(j)? = (bits as f32 / 7.5 - 1.0) * scale;
                j += 1;
                cx += 1;
            }
        }
        Some(())
    };
    let mut c = Coefficients {
        l_dc,
        p_dc,
        q_dc,
        a_dc,
        lx,
        ly,
        has_alpha,
        l_ac: [0.0; MAX_L_AC],
        p_ac: [0.0; MAX_PQ_AC],
        q_ac: [0.0; MAX_PQ_AC],
        a_ac: [0.0; MAX_A_AC],
    };
    channel(lx, ly, l_scale, &mut c.l_ac)?;
    channel(3, 3, p_scale * 1.25, &mut c.p_ac)?;
    channel(3, 3, q_scale * 1.25, &mut c.q_ac)?;
    if has_alpha {
        channel(5, 5, a_scale, &mut c.a_ac)?;
    }
    Some(c)
}

/// `cos(π / size · (i + 0.5) · k)` for `k` < 7 at each position `i` < `size`. The first
/// harmonic walks from position to position by rotation through the step's angle, the others
/// follow by the Chebyshev recurrence `cos kθ = 2 cos θ · cos (k−1)θ − cos (k−2)θ`: two `cos`
/// in all (`cos` is a software routine in WebAssembly; one per position was a tenth of a
/// render). Both angles lie in 0..=π, so each sine is `√(1 − cos²)`; the rotation's rounding
/// stays under 10⁻⁵ over 32 steps, far below a byte's 1/255.
fn cosines(size: usize) -> [[f32; 7]; MAX_RENDER_SIDE] {
    let mut table = [[0.0; 7]; MAX_RENDER_SIDE];
    let step = std::f32::consts::PI / size as f32;
    let step_cos = f64::from(step.cos());
    let step_sin = (1.0 - step_cos * step_cos).max(0.0).sqrt();
    let mut cos = f64::from((step / 2.0).cos());
    let mut sin = (1.0 - cos * cos).max(0.0).sqrt();
    for f in table.iter_mut().take(size) {
        let c1 = cos as f32;
        f[0] = 1.0;
        f[1] = c1;
        for k in 2..7 {
            f[k] = 2.0 * c1 * f[k - 1] - f[k - 2];
        }
        (cos, sin) = (
            cos * step_cos - sin * step_sin,
            sin * step_cos + cos * step_sin,
        );
    }
    table
}

/// Adds `ac`'s terms for one row of cosines `fy` into per-column weights: `row[cx]` is then
/// what column frequency `cx` contributes, times `cos(cx · x)`, at every pixel of the row.
fn row_weights(ac: &[f32], nx: usize, ny: usize, fy: &[f32; 7], row: &mut [f32; 7]) {
    *row = [0.0; 7];
    let mut j = 0;
    for (cy, fyc) in fy.iter().enumerate().take(ny) {
        let fy2 = fyc * 2.0;
        let mut cx = usize::from(cy == 0);
        while cx * ny < nx * (ny - cy) {
            row[cx] += ac[j] * fy2;
            j += 1;
            cx += 1;
        }
    }
}

/// Σ `weights[k] · fx[k]` over all seven frequencies (weights past a channel's own are 0):
/// fixed sizes, so it compiles to straight multiply-adds even at `opt-level = "z"`.
#[inline(always)]
fn dot(weights: &[f32; 7], fx: &[f32; 7]) -> f32 {
    weights[0] * fx[0]
        + weights[1] * fx[1]
        + weights[2] * fx[2]
        + weights[3] * fx[3]
        + weights[4] * fx[4]
        + weights[5] * fx[5]
        + weights[6] * fx[6]
}

/// [`dot`] over the first three frequencies (the chroma channels have no others).
#[inline(always)]
fn dot3(weights: &[f32; 7], fx: &[f32; 7]) -> f32 {
    weights[0] * fx[0] + weights[1] * fx[1] + weights[2] * fx[2]
}

/// A channel value in 0..=1 as a byte, truncated as `thumbhash` does (`clamp(0, 1) · 255`):
/// the cast saturates, which clamps the same way (below 0 and NaN give 0, above 1 gives 255).
#[inline(always)]
fn to_byte(v: f32) -> u8 {
    (v * 255.0) as u8
}

/// Renders checked hash bytes at `width` × `height` (each at most [`MAX_RENDER_SIDE`]), the
/// same arithmetic as `thumbhash::thumb_hash_to_rgba` (which always renders 32 px) up to
/// rounding, in `channels` bytes a pixel (4: RGBA; 3: RGB, for a hash without alpha), each row
/// preceded by `row_prefix` (PNG's filter byte) when given, appended to `out`.
///
/// Separable: per row, the coefficients are summed against that row's cosines once, leaving one
/// weight per column frequency, so a pixel costs a handful of multiplications per channel.
fn render_into(
    c: &Coefficients,
    width: usize,
    height: usize,
    channels: usize,
    row_prefix: Option<u8>,
    out: &mut Vec<u8>,
) -> Option<()> {
    if width == 0 || height == 0 || width > MAX_RENDER_SIDE || height > MAX_RENDER_SIDE {
        return None;
    }
    let fxs = cosines(width);
    let fys = if height == width {
        fxs
    } else {
        cosines(height)
    };
    let (mut l_row, mut p_row, mut q_row, mut a_row) = ([0.0; 7], [0.0; 7], [0.0; 7], [0.0; 7]);
    let prefix_len = usize::from(row_prefix.is_some());
    let row_len = prefix_len + width * channels;
    // Each row is rendered here, then copied out whole.
    let mut row = [0u8; 1 + MAX_RENDER_SIDE * 4];
    out.reserve(row_len * height);
    for fy in &fys[..height] {
        row_weights(&c.l_ac, c.lx, c.ly, fy, &mut l_row);
        row_weights(&c.p_ac, 3, 3, fy, &mut p_row);
        row_weights(&c.q_ac, 3, 3, fy, &mut q_row);
        if c.has_alpha {
            row_weights(&c.a_ac, 5, 5, fy, &mut a_row);
        }
        if let Some(prefix) = row_prefix {
            row[0] = prefix;
        }
        let pixels = &mut row[prefix_len..row_len];
        for (fx, pixel) in fxs[..width].iter().zip(pixels.chunks_exact_mut(channels)) {
            let l = c.l_dc + dot(&l_row, fx);
            let p = c.p_dc + dot3(&p_row, fx);
            let q = c.q_dc + dot3(&q_row, fx);
            let b = l - 2.0 / 3.0 * p;
            let r = (3.0 * l - b + q) / 2.0;
            let g = r - q;
            pixel[0] = to_byte(r);
            pixel[1] = to_byte(g);
            pixel[2] = to_byte(b);
            if channels == 4 {
                pixel[3] = to_byte(c.a_dc + dot(&a_row, fx));
            }
        }
        out.extend_from_slice(&row[..row_len]);
    }
    Some(())
}

/// Renders checked hash bytes at `width` × `height` RGBA (each side at most
/// [`MAX_RENDER_SIDE`]): the arithmetic of `thumbhash::thumb_hash_to_rgba`, up to rounding.
pub fn render_rgba(hash: &[u8], width: usize, height: usize) -> Option<Vec<u8>> {
    let c = coefficients(hash)?;
    let mut rgba = Vec::with_capacity(width * height * 4);
    render_into(&c, width, height, 4, None, &mut rgba)?;
    Some(rgba)
}

/// The size a preview of `hash` is rendered at: `side` on the long side, the aspect the hash
/// records on the other (at least 1 px).
fn preview_size(hash: &[u8], side: usize) -> Option<(usize, usize)> {
    let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(hash).ok()?;
    if !ratio.is_finite() || ratio <= 0.0 {
        return None;
    }
    let s = side as f32;
    Some(if ratio > 1.0 {
        (side, ((s / ratio).round() as usize).max(1))
    } else {
        (((s * ratio).round() as usize).max(1), side)
    })
}

/// The preview of a base64 ThumbHash: a `data:image/png;base64,…` URL of at most
/// [`PREVIEW_SIDE`] pixels on the long side, keeping the image's aspect (RGB when the hash has
/// no alpha, RGBA otherwise). `None` for a malformed hash; never panics.
///
/// The pixels are rendered straight into the PNG's stored deflate block, and the PNG straight
/// into the URL's base64: three buffers in all (the hash, the PNG, the URL).
pub fn render_data_url(hash: &str) -> Option<String> {
    let bytes = decode_hash(hash)?;
    let (width, height) = preview_size(&bytes, PREVIEW_SIDE)?;
    let c = coefficients(&bytes)?;
    let channels = if c.has_alpha { 4 } else { 3 };
    let png = png::encode_with(width, height, channels, |raw| {
        render_into(&c, width, height, channels, Some(0), raw)
    })?;
    let mut url = Vec::with_capacity(DATA_URL_PREFIX.len() + png.len().div_ceil(3) * 4);
    url.extend_from_slice(DATA_URL_PREFIX.as_bytes());
    png::base64_encode_into(&png, &mut url);
    String::from_utf8(url).ok()
}

/// [`render_rgba`] at the size `thumbhash::thumb_hash_to_rgba` uses (32 px on the long side),
/// for checking one against the other.
pub fn render_rgba_like_thumbhash(hash: &str) -> Option<(usize, usize, Vec<u8>)> {
    let bytes = decode_hash(hash)?;
    let (w, h) = render_size(&bytes)?;
    Some((w, h, render_rgba(&bytes, w, h)?))
}
#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize, alpha: bool) -> Vec<u8> {
        let mut rgba = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            for x in 0..w {
                let a = if alpha { (x * 255 / w) as u8 } else { 255 };
                rgba.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 90, a]);
            }
        }
        rgba
    }

    #[test]
    fn a_hash_is_short_and_renders_a_small_png_url() {
        for (w, h, alpha) in [
            (100, 100, false),
            (100, 40, true),
            (30, 100, false),
            (1, 1, false),
        ] {
            let hash = hash_rgba(w, h, &gradient(w, h, alpha)).unwrap();
            assert!(hash.len() <= 48, "{hash}");
            assert!(is_valid(&hash), "{w}x{h}: {hash}");
            let url = render_data_url(&hash).unwrap();
            assert!(url.starts_with(DATA_URL_PREFIX));
            assert!(url.len() < 2_200, "{} chars", url.len());
        }
    }

    #[test]
    fn the_preview_keeps_the_aspect() {
        let hash = hash_rgba(100, 50, &gradient(100, 50, false)).unwrap();
        let png =
            png::base64_decode(&render_data_url(&hash).unwrap()[DATA_URL_PREFIX.len()..]).unwrap();
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!(width, 16);
        assert!((7..=9).contains(&height), "{height}");
    }

    #[test]
    fn an_opaque_preview_is_rgb_and_one_with_alpha_rgba() {
        for (alpha, color_type) in [(false, 2), (true, 6)] {
            let hash = hash_rgba(20, 20, &gradient(20, 20, alpha)).unwrap();
            let url = render_data_url(&hash).unwrap();
            let png = png::base64_decode(&url[DATA_URL_PREFIX.len()..]).unwrap();
            assert_eq!(png[25], color_type, "alpha: {alpha}");
        }
    }

    #[test]
    fn bad_input_is_no_hash() {
        assert!(hash_rgba(0, 10, &[]).is_none());
        assert!(hash_rgba(101, 1, &[0; 404]).is_none());
        assert!(hash_rgba(2, 2, &[0; 15]).is_none());
    }

    #[test]
    fn downsample_averages_blocks() {
        let rgba = [0, 0, 0, 255, 255, 255, 255, 255].repeat(16 * 32 / 2);
        let (w, h, out) = downsample(16, 32, &rgba, 8);
        assert_eq!((w, h), (4, 8));
        assert!(out.chunks(4).all(|p| p[0] == 128 && p[3] == 255), "{out:?}");
    }
}
