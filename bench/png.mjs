// The benchmark's avatars: a diagonal two-colour gradient with a little grain per image id, so
// images weigh what small real avatars weigh (a few KB) and no two are alike. The PNG encoder
// and the seeded generator are the demo backend's (www/server/png.mjs).
import { encodePng, seeded } from "../www/server/png.mjs";

/** A `size`×`size` avatar for `imageId`. */
export function avatarPng(imageId, size = 64) {
  const rand = seeded(imageId);
  const c1 = [0, 1, 2].map(() => 40 + Math.floor(rand() * 180));
  const c2 = [0, 1, 2].map(() => 40 + Math.floor(rand() * 180));
  const rgb = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = (x + y) / (2 * size);
      const o = (y * size + x) * 3;
      for (let i = 0; i < 3; i++) rgb[o + i] = c1[i] * (1 - t) + c2[i] * t + Math.floor(rand() * 6);
    }
  }
  return encodePng(size, size, rgb);
}
