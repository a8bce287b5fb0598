// A plain webpack 5 setup: no loader, no plugin, nothing for avatar-cache (webpack handles the
// package's `new URL("./avatar_cache_bg.wasm", import.meta.url)` as an asset by itself).
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export default {
  entry: "./src/index.js",
  output: { path: resolve(here, "dist"), filename: "main.js", chunkFilename: "[name].[contenthash].js", clean: true, publicPath: "/" },
};
