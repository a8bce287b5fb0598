// A tiny PNG encoder (8-bit RGB, filter 0, zlib from node) and the avatar painter behind it.
// Each image id gets its own colours and shapes; the user's initials sit in the middle.
import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes `rgb` (width × height × 3 bytes, row-major) as a PNG. */
export function encodePng(width, height, rgb) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    rgb.copy(raw, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// 5×7 glyphs, one string of 35 bits per letter.
const GLYPHS = {
  A: "01110100011000111111100011000110001", B: "11110100011000111110100011000111110",
  C: "01110100011000010000100001000101110", D: "11110100011000110001100011000111110",
  E: "11111100001000011110100001000011111", F: "11111100001000011110100001000010000",
  G: "01110100011000010111100011000101111", H: "10001100011000111111100011000110001",
  I: "01110001000010000100001000010001110", J: "00111000100001000010000101001001100",
  K: "10001100101010011000101001001010001", L: "10000100001000010000100001000011111",
  M: "10001110111010110101100011000110001", N: "10001100011100110101100111000110001",
  O: "01110100011000110001100011000101110", P: "11110100011000111110100001000010000",
  Q: "01110100011000110001101011001001101", R: "11110100011000111110101001001010001",
  S: "01111100001000001110000010000111110", T: "11111001000010000100001000010000100",
  U: "10001100011000110001100011000101110", V: "10001100011000110001100010101000100",
  W: "10001100011000110101101011010101010", X: "10001100010101000100010101000110001",
  Y: "10001100010101000100001000010000100", Z: "11111000010001000100010001000011111",
  "?": "01110100010000100010001000000000100",
};

/** A small deterministic PRNG (mulberry32) seeded from a string. */
export function seeded(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hsl(h, s, l) {
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

/**
 * Paints a `size`×`size` avatar for `imageId` with `initials` (one or two letters) and returns
 * it as a PNG: a two-colour diagonal gradient, a few soft discs, the initials in white.
 */
export function avatarPng(imageId, initials, size = 128) {
  const rand = seeded(imageId);
  const hue = Math.floor(rand() * 360);
  const c1 = hsl(hue, 0.65, 0.55);
  const c2 = hsl((hue + 40 + rand() * 60) % 360, 0.7, 0.38);
  const discs = Array.from({ length: 3 + Math.floor(rand() * 3) }, () => ({
    x: rand() * size, y: rand() * size, r: size * (0.15 + rand() * 0.35), a: 0.08 + rand() * 0.12,
  }));
  const rgb = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = (x + y) / (2 * size);
      let px = [0, 1, 2].map((i) => c1[i] * (1 - t) + c2[i] * t);
      for (const d of discs) {
        if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r ** 2) px = px.map((v) => v + (255 - v) * d.a);
      }
      const o = (y * size + x) * 3;
      rgb[o] = px[0]; rgb[o + 1] = px[1]; rgb[o + 2] = px[2];
    }
  }
  drawText(rgb, size, initials.toUpperCase().slice(0, 2));
  return encodePng(size, size, rgb);
}

function drawText(rgb, size, text) {
  const scale = Math.max(2, Math.floor(size / 18));
  const gap = scale;
  const letters = [...text].map((ch) => GLYPHS[ch] ?? GLYPHS["?"]);
  const width = letters.length * 5 * scale + (letters.length - 1) * gap;
  const x0 = Math.floor((size - width) / 2);
  const y0 = Math.floor((size - 7 * scale) / 2);
  const put = (x, y, v, alpha) => {
    if (x < 0 || y < 0 || x >= size || y >= size) return;
    const o = (y * size + x) * 3;
    for (let i = 0; i < 3; i++) rgb[o + i] = rgb[o + i] * (1 - alpha) + v * alpha;
  };
  for (const [pass, dx, v, alpha] of [["shadow", Math.max(1, Math.round(scale / 3)), 0, 0.25], ["ink", 0, 255, 1]]) {
    void pass;
    letters.forEach((bits, li) => {
      for (let gy = 0; gy < 7; gy++) {
        for (let gx = 0; gx < 5; gx++) {
          if (bits[gy * 5 + gx] !== "1") continue;
          for (let sy = 0; sy < scale; sy++) {
            for (let sx = 0; sx < scale; sx++) {
              put(x0 + li * (5 * scale + gap) + gx * scale + sx + dx, y0 + gy * scale + sy + dx, v, alpha);
            }
          }
        }
      }
    });
  }
}

/** The default picture: a grey silhouette on a light background. */
export function defaultPng(size = 128) {
  const rgb = Buffer.alloc(size * size * 3);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const head = (x - c) ** 2 + (y - size * 0.4) ** 2 < (size * 0.19) ** 2;
      const body = ((x - c) / (size * 0.34)) ** 2 + ((y - size * 0.98) / (size * 0.36)) ** 2 < 1;
      const v = head || body ? 160 : 226;
      const o = (y * size + x) * 3;
      rgb[o] = v; rgb[o + 1] = v + 4; rgb[o + 2] = v + 10;
    }
  }
  return encodePng(size, size, rgb);
}

/** The MIME type of image bytes, from their magic numbers; `null` when they are no image. */
export function sniffImage(bytes) {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "image/png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (bytes.length >= 12 && bytes.toString("ascii", 0, 4) === "RIFF" && bytes.toString("ascii", 8, 12) === "WEBP") return "image/webp";
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.toString("ascii", 0, 6))) return "image/gif";
  return null;
}
