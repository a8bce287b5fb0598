// Where the bytes of a .wasm go: the code size of each function, named from the wasm "name"
// section, summed by crate. Needs a module that kept its names (scripts/bench.sh builds one
// beside the release build: same profile, not stripped, wasm-opt -Oz -g).
//
//   node wasm-size.mjs FILE.wasm          prints the crates and the 25 largest functions
//   node wasm-size.mjs --diff OLD NEW     the functions whose size changed most between two
//                                         named builds (crate hashes ignored), and the total

function leb(bytes, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [result, pos];
  }
}

/** Demangles a legacy Rust symbol (`_ZN…E`) into its path; other names come back as they are. */
export function demangle(name) {
  if (!name.startsWith("_ZN")) return name;
  const parts = [];
  let i = 3;
  while (i < name.length && name[i] !== "E") {
    let j = i;
    while (/[0-9]/.test(name[j])) j++;
    const len = Number(name.slice(i, j));
    if (!len) break;
    parts.push(name.slice(j, j + len));
    i = j + len;
  }
  if (parts.length && /^h[0-9a-f]{16}$/.test(parts.at(-1))) parts.pop();
  return parts
    .join("::")
    .replace(/\$LT\$/g, "<").replace(/\$GT\$/g, ">").replace(/\$u20\$/g, " ").replace(/\$RF\$/g, "&")
    .replace(/\$C\$/g, ",").replace(/\$u7b\$/g, "{").replace(/\$u7d\$/g, "}").replace(/\.\./g, "::")
    .replace(/\$u5b\$/g, "[").replace(/\$u5d\$/g, "]").replace(/\$BP\$/g, "*");
}

/**
 * The crate a function belongs to, from its path: `a::b::f` → `a`; `<a::B as c::D>::f` → `a`;
 * an impl on a primitive or a generic (`<f64 as core::fmt::Display>::fmt`) → the trait's crate.
 */
const PRIMITIVES = new Set(["bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64"]);

export function crateOf(path) {
  const clean = path.replace(/\[[0-9a-f]+\]/g, "").replace(/::h[0-9a-f]{16}$/, "");
  if (!clean.includes("::")) return "(runtime and wasm-bindgen shims)";
  // Inherent methods of primitives (`char::methods::…`, `<str>::…`) live in core.
  const head = /^<?([A-Za-z_][A-Za-z0-9_]*)(::|>)/.exec(clean);
  if (head && PRIMITIVES.has(head[1]) && !/ as /.test(clean)) return "core";
  const first = (s) => /^[&*\s]*(?:mut\s+|dyn\s+|const\s+)*([A-Za-z_][A-Za-z0-9_]*)(::)?/.exec(s);
  if (clean.startsWith("<")) {
    const self = first(clean.slice(1));
    const as = / as ([A-Za-z_][A-Za-z0-9_]*)::/.exec(clean);
    if (self && self[2]) return self[1];
    if (as) return as[1];
    return self ? self[1] : "(other)";
  }
  return first(clean)?.[1] ?? "(other)";
}

/** `{ codeBytes, groups: [{ name, bytes, functions }], top: [{ name, bytes }] }` of `bytes`. */
export function wasmNameSizes(bytes) {
  let pos = 8;
  let imported = 0;
  const bodies = [];
  const names = new Map();
  let codeBytes = 0;
  let dataBytes = 0;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size;
    [size, pos] = leb(bytes, pos);
    const end = pos + size;
    if (id === 2) {
      let p = pos;
      let count;
      [count, p] = leb(bytes, p);
      for (let k = 0; k < count; k++) {
        for (let s = 0; s < 2; s++) {
          let len;
          [len, p] = leb(bytes, p);
          p += len;
        }
        const kind = bytes[p++];
        if (kind === 0) {
          imported++;
          [, p] = leb(bytes, p);
        } else if (kind === 1) {
          p += 1;
          const flags = bytes[p++];
          [, p] = leb(bytes, p);
          if (flags & 1) [, p] = leb(bytes, p);
        } else if (kind === 2) {
          const flags = bytes[p++];
          [, p] = leb(bytes, p);
          if (flags & 1) [, p] = leb(bytes, p);
        } else if (kind === 3) {
          p += 2;
        } else {
          [, p] = leb(bytes, p + 1);
        }
      }
    } else if (id === 11) {
      dataBytes = size;
    } else if (id === 10) {
      codeBytes = size;
      let p = pos;
      let count;
      [count, p] = leb(bytes, p);
      for (let k = 0; k < count; k++) {
        let len;
        [len, p] = leb(bytes, p);
        bodies.push(len);
        p += len;
      }
    } else if (id === 0) {
      let p = pos;
      let len;
      [len, p] = leb(bytes, p);
      const name = new TextDecoder().decode(bytes.subarray(p, p + len));
      p += len;
      if (name === "name") {
        while (p < end) {
          const sub = bytes[p++];
          let subSize;
          [subSize, p] = leb(bytes, p);
          const subEnd = p + subSize;
          if (sub === 1) {
            let count;
            [count, p] = leb(bytes, p);
            for (let k = 0; k < count; k++) {
              let index;
              let n;
              [index, p] = leb(bytes, p);
              [n, p] = leb(bytes, p);
              names.set(index, new TextDecoder().decode(bytes.subarray(p, p + n)));
              p += n;
            }
          }
          p = subEnd;
        }
      }
    }
    pos = end;
  }
  const functions = bodies.map((size, k) => {
    const raw = names.get(imported + k) ?? `(unnamed #${imported + k})`;
    const name = demangle(raw);
    return { name, bytes: size, crate: crateOf(name) };
  });
  const byCrate = new Map();
  for (const f of functions) {
    const g = byCrate.get(f.crate) ?? { name: f.crate, bytes: 0, functions: 0 };
    g.bytes += f.bytes;
    g.functions += 1;
    byCrate.set(f.crate, g);
  }
  return {
    note: `function bodies by crate, from a not stripped build run through wasm-opt -Oz -g; ${functions.length} functions, ${names.size} named`,
    totalBytes: bytes.length,
    codeBytes,
    dataBytes,
    groups: [...byCrate.values()].sort((a, b) => b.bytes - a.bytes),
    top: [...functions].sort((a, b) => b.bytes - a.bytes).slice(0, 40).map(({ name, bytes: b }) => ({ name, bytes: b })),
    functions,
  };
}

/** Code bytes by function name, with crate hashes (`[0123…]`) taken out so that builds compare. */
function bytesByName(r) {
  const sizes = new Map();
  for (const f of r.functions) {
    const name = f.name.replace(/\[[0-9a-f]{16}\]/g, "");
    sizes.set(name, (sizes.get(name) ?? 0) + f.bytes);
  }
  return sizes;
}

/** The functions whose code size differs between two named builds, largest change first. */
export function sizeDiff(oldBytes, newBytes) {
  const [a, b] = [bytesByName(wasmNameSizes(oldBytes)), bytesByName(wasmNameSizes(newBytes))];
  const changed = [...new Set([...a.keys(), ...b.keys()])]
    .map((name) => ({ name, delta: (b.get(name) ?? 0) - (a.get(name) ?? 0) }))
    .filter((f) => f.delta !== 0)
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
  return { changed, total: changed.reduce((sum, f) => sum + f.delta, 0) };
}

if (process.argv[1]?.endsWith("wasm-size.mjs")) {
  const { readFileSync } = await import("node:fs");
  if (process.argv[2] === "--diff") {
    const { changed, total } = sizeDiff(readFileSync(process.argv[3]), readFileSync(process.argv[4]));
    for (const f of changed.slice(0, 30)) console.log(`${String(f.delta > 0 ? `+${f.delta}` : f.delta).padStart(8)}  ${f.name.slice(0, 150)}`);
    console.log(`${String(total > 0 ? `+${total}` : total).padStart(8)}  code bytes in all (${changed.length} functions changed)`);
    process.exit(0);
  }
  const r = wasmNameSizes(readFileSync(process.argv[2]));
  console.log(`${process.argv[2]}: ${r.totalBytes} bytes, code ${r.codeBytes}, data ${r.dataBytes} (${r.note})`);
  for (const g of r.groups.slice(0, 20)) console.log(`${String(g.bytes).padStart(8)}  ${(100 * g.bytes / r.codeBytes).toFixed(1).padStart(5)} %  ${g.name} (${g.functions} functions)`);
  console.log("largest functions:");
  for (const f of r.top.slice(0, 25)) console.log(`${String(f.bytes).padStart(8)}  ${f.name.slice(0, 150)}`);
}
