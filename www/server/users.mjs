// The seeded user directory: 500 users with deterministic names; every ninth has no picture.
import { createHash } from "node:crypto";

const FIRST = [
  "Ada", "Ben", "Chloe", "Diego", "Elena", "Farah", "Gabriel", "Hana", "Ivan", "Jade", "Kofi", "Lena",
  "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wes", "Xin",
  "Yara", "Zoe", "Aiko", "Bruno", "Carmen", "Dev", "Emil", "Freya", "Gus", "Ines", "Jonas", "Kira",
];
const LAST = [
  "Adeyemi", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
  "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi", "Silva",
  "Tanaka", "Urban", "Varga", "Walsh", "Xu", "Yilmaz", "Zhang", "Novak", "Meyer", "Lindqvist",
];
const CITIES = ["Lisbon", "Berlin", "Osaka", "Lagos", "Toronto", "Sydney", "Oslo", "Austin", "Seoul", "Lyon"];

export const USER_COUNT = 500;
/** The signed-in user of the demo. */
export const ME = "1";

function hex(text, n = 12) {
  return createHash("sha256").update(text).digest("hex").slice(0, n);
}

/** Builds the directory: `Map<userId, { id, name, handle, city, imageId }>`. */
export function seedUsers(count = USER_COUNT) {
  const users = new Map();
  for (let i = 1; i <= count; i++) {
    const id = String(i);
    const first = FIRST[(i * 7) % FIRST.length];
    const last = LAST[(i * 11 + Math.floor(i / FIRST.length)) % LAST.length];
    users.set(id, {
      id,
      name: `${first} ${last}`,
      handle: `@${first.toLowerCase()}${i}`,
      city: CITIES[(i * 3) % CITIES.length],
      imageId: i % 9 === 0 ? null : `img_${hex(`seed:${id}`)}`,
    });
  }
  return users;
}

/** The initials painted on a user's generated avatar. */
export function initials(name) {
  return name.split(/\s+/).map((w) => w[0] ?? "").join("").slice(0, 2).toUpperCase();
}

/** A fresh image id for an upload. */
export function newImageId(userId, counter) {
  return `img_${hex(`upload:${userId}:${counter}:${Date.now()}:${Math.random()}`)}`;
}
