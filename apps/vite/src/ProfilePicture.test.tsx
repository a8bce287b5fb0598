// Unit tests as an app writes them: Vitest + jsdom + Testing Library, with the in-memory
// stand-in from avatar-cache/testing (the real cache needs a browser).
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createElement, useSyncExternalStore, type ReactNode } from "react";
import { hydrateRoot } from "react-dom/client";
import { renderToString } from "react-dom/server";
import { afterEach, describe, expect, test, vi } from "vitest";
import { AvatarCache, isAvatarCacheError } from "avatar-cache";
import { AvatarCacheProvider, ProfilePicture, useProfilePicture } from "avatar-cache/react";
import { FakeAvatarCache } from "avatar-cache/testing";

afterEach(() => vi.restoreAllMocks());

function renderWith(cache: FakeAvatarCache, ui: ReactNode) {
  return render(<AvatarCacheProvider cache={cache}>{ui}</AvatarCacheProvider>);
}

describe("ProfilePicture over avatar-cache/testing", () => {
  test("the caller's onError hears a picture that fails to load, and the fallback shows", async () => {
    const cache = new FakeAvatarCache({ seen: { "5": "blob:fake/broken" } });
    const onError = vi.fn();
    renderWith(cache, <ProfilePicture userId="5" alt="Eve" onError={onError} />);
    fireEvent.error(screen.getByRole("img", { name: "Eve" }));
    expect(onError).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.getByRole("img", { name: "Eve" }).dataset.avatarState).not.toBe("ready"));
  });

  test("a provider given a config follows the app's cache when it is closed and opened again", async () => {
    type Entry = { cache: FakeAvatarCache; promise: Promise<FakeAvatarCache>; closed: Set<() => void> };
    const key = Symbol.for("avatar-cache.opened");
    const registry: Map<string, Entry> = ((globalThis as Record<symbol, unknown>)[key] ??= new Map()) as Map<string, Entry>;
    const entry = (cache: FakeAvatarCache): Entry => ({ cache, promise: Promise.resolve(cache), closed: new Set() });
    const first = entry(new FakeAvatarCache({ seen: { "1": "blob:fake/first" } }));
    registry.set("reopen", first);
    render(
      <AvatarCacheProvider config={{ namespace: "reopen" }}>
        <ProfilePicture userId="1" alt="One" />
      </AvatarCacheProvider>,
    );
    expect(screen.getByRole("img", { name: "One" })).toHaveProperty("src", "blob:fake/first");
    await waitFor(() => expect(first.closed.size).toBe(1));
    // What openAvatarCache's close does: the entry is forgotten, its listeners told; the app
    // opens the next one (a logout that closes and reopens).
    act(() => {
      registry.set("reopen", entry(new FakeAvatarCache({ seen: { "1": "blob:fake/second" } })));
      first.cache.close();
      for (const heard of first.closed) heard();
    });
    await waitFor(() => expect(screen.getByRole("img", { name: "One" })).toHaveProperty("src", "blob:fake/second"));
    registry.delete("reopen");
  });

  test("a picture the tab has seen is on the first render, without a get", () => {
    const cache = new FakeAvatarCache({ seen: { "42": "blob:fake/42" } });
    renderWith(cache, <ProfilePicture userId="42" alt="Ada" />);
    const img = screen.getByRole("img", { name: "Ada" });
    expect(img).toHaveProperty("src", "blob:fake/42");
    expect(img.dataset.avatarSource).toBe("memory");
    expect(cache.calls.get).toEqual([]);
  });

  test("an unseen picture shows the emoji while loading, then the picture and the layer that answered", async () => {
    const cache = new FakeAvatarCache({ pictures: { "7": "https://cdn.test/7.png" } }).pause();
    renderWith(cache, <ProfilePicture userId="7" emoji="🙂" alt="Grace" />);
    const loading = screen.getByRole("img", { name: "Grace" });
    expect(loading.textContent).toBe("🙂");
    expect(loading.dataset.avatarState).toBe("loading");
    expect(loading.getAttribute("aria-busy")).toBe("true");

    await act(() => cache.resume());
    const img = await screen.findByRole("img", { name: "Grace" });
    await waitFor(() => expect(img.dataset.avatarState).toBe("ready"));
    expect(img).toHaveProperty("src", "https://cdn.test/7.png");
    // The get answered from the network; peek (memory) now holds a copy, but the answer's layer stands.
    expect(img.dataset.avatarSource).toBe("network");
    expect(cache.calls.get).toEqual([["7"]]);
  });

  test("the hook reports the layer that answered", async () => {
    const cache = new FakeAvatarCache().remember("3", "blob:fake/3", { layer: "indexeddb" });
    cache.invalidate("3"); // nothing in memory: the next get goes down the layers
    cache.answer("3", "https://cdn.test/3.png");
    const seen: (string | undefined)[] = [];
    function Probe() {
      const { source } = useProfilePicture("3");
      seen.push(source);
      return null;
    }
    renderWith(cache, <Probe />);
    await waitFor(() => expect(seen.at(-1)).toBe("network"));
    expect(seen).not.toContain("memory");
  });

  test("a failing network ends with the default picture, recorded in stats", async () => {
    const cache = new FakeAvatarCache({ defaultImageUrl: "/images/default_pfp.png" }).fail("5", "NETWORK: HTTP 503 on /images/user/5");
    renderWith(cache, <ProfilePicture userId="5" alt="Linus" />);
    const img = screen.getByRole("img", { name: "Linus" });
    await waitFor(() => expect(img.dataset.avatarSource).toBe("default"));
    expect(img.getAttribute("src")).toBe("/images/default_pfp.png");
    expect(cache.stats().recentErrors.map((e) => e.reason)).toEqual(["NETWORK: HTTP 503 on /images/user/5"]);
  });

  test("setPicture and clear reach mounted pictures", async () => {
    const cache = new FakeAvatarCache({ seen: { "9": "blob:fake/old" } });
    renderWith(cache, <ProfilePicture userId="9" alt="Barbara" />);
    await act(() => cache.setPicture("9", "img-new"));
    expect(screen.getByRole("img", { name: "Barbara" })).toHaveProperty("src", "blob:fake/img-new");

    cache.pause();
    await act(() => cache.clear());
    expect(screen.getByRole("img", { name: "Barbara" }).dataset.avatarState).toBe("loading");
    await act(() => cache.resume());
    await waitFor(() => expect(screen.getByRole("img", { name: "Barbara" }).dataset.avatarState).toBe("ready"));
    expect(cache.calls.get).toEqual([["9"]]);
  });

  test("a rejected get shows the fallback with the error", async () => {
    const cache = new FakeAvatarCache().reject("x");
    renderWith(cache, <ProfilePicture userId="x" emoji="🙂" alt="X" />);
    await waitFor(() => expect(screen.getByRole("img", { name: "X" }).dataset.avatarState).toBe("fallback"));
  });
});

describe("changes that remove the picture (clear, invalidate)", () => {
  type State = ReturnType<typeof useProfilePicture>;
  function probe(userId: string) {
    const seen: State[] = [];
    function Probe() {
      seen.push(useProfilePicture(userId));
      return null;
    }
    return { seen, Probe };
  }

  test("after clear() a picture last seen stale is not shown again: a new get starts", async () => {
    const cache = new FakeAvatarCache({ pictures: { "1": "blob:fake/new" } }).remember("1", "blob:fake/old", { stale: true });
    const { seen, Probe } = probe("1");
    renderWith(cache, <Probe />);
    expect(seen.at(-1)?.url).toBe("blob:fake/old");
    await waitFor(() => expect(cache.calls.get).toEqual([["1"]]));
    await act(async () => {}); // the revalidating get has answered (stale, from memory)

    cache.pause();
    await act(() => cache.clear());
    expect(cache.calls.get).toEqual([["1"], ["1"]]);
    expect(seen.at(-1)).toMatchObject({ url: undefined, loading: true });
    await act(() => cache.resume());
    await waitFor(() => expect(seen.at(-1)).toMatchObject({ url: "blob:fake/new", source: "network", loading: false }));
  });

  test("while the get after clear() loads, the picture from before it is not shown", async () => {
    const cache = new FakeAvatarCache({ pictures: { "7": "https://cdn.test/7.png" } });
    renderWith(cache, <ProfilePicture userId="7" emoji="🙂" alt="Hedy" />);
    await waitFor(() => expect(screen.getByRole("img", { name: "Hedy" }).dataset.avatarState).toBe("ready"));

    cache.pause();
    await act(() => cache.clear());
    const loading = screen.getByRole("img", { name: "Hedy" });
    expect(loading.textContent).toBe("🙂");
    expect(loading.dataset.avatarState).toBe("loading");
    expect(cache.calls.get).toEqual([["7"], ["7"]]);
    await act(() => cache.resume());
    await waitFor(() => expect(screen.getByRole("img", { name: "Hedy" }).dataset.avatarState).toBe("ready"));
  });

  test("invalidate(userId) of a picture last seen stale shows the fallback and asks again", async () => {
    const cache = new FakeAvatarCache({ pictures: { "3": "blob:fake/3-new" } }).remember("3", "blob:fake/3-old", { stale: true });
    const other = probe("4");
    const { seen, Probe } = probe("3");
    renderWith(cache, <><Probe /><other.Probe /></>);
    await waitFor(() => expect(cache.calls.get).toEqual([["3"], ["4"]]));
    await act(async () => {});

    cache.pause();
    await act(() => cache.invalidate("3"));
    expect(seen.at(-1)).toMatchObject({ url: undefined, loading: true });
    expect(cache.calls.get).toEqual([["3"], ["4"], ["3"]]);
    await act(() => cache.resume());
    await waitFor(() => expect(seen.at(-1)?.url).toBe("blob:fake/3-new"));
    expect(cache.calls.get.filter(([id]) => id === "4")).toEqual([["4"]]);
  });

  test("an updated picture replaces the old one without showing the fallback in between", async () => {
    const cache = new FakeAvatarCache({ pictures: { "9": "blob:fake/old" } }).remember("9", "blob:fake/old", { stale: true });
    const { seen, Probe } = probe("9");
    renderWith(cache, <Probe />);
    await waitFor(() => expect(cache.calls.get).toEqual([["9"]]));
    await act(async () => {});
    await act(() => cache.setPicture("9", "img-new"));
    expect(seen.at(-1)?.url).toBe("blob:fake/img-new");
    expect(seen.map((s) => s.url)).not.toContain(undefined);
    expect(cache.calls.get).toEqual([["9"]]);
  });
});

test("an app's own useSyncExternalStore over FakeAvatarCache.peek settles (peek keeps its object)", () => {
  const cache = new FakeAvatarCache({ seen: { "1": "blob:fake/1" } });
  const subscribe = (listener: () => void) => cache.subscribe(listener);
  function Own() {
    const picture = useSyncExternalStore(subscribe, () => cache.peek("1"));
    return <span data-testid="own">{picture?.url}</span>;
  }
  const errors = vi.spyOn(console, "error").mockImplementation(() => {});
  render(<Own />);
  expect(screen.getByTestId("own").textContent).toBe("blob:fake/1");
  expect(errors).not.toHaveBeenCalled();
});

describe("server rendering and hydration", () => {
  test("the server renders the fallback and never touches the cache", () => {
    const cache = new FakeAvatarCache({ seen: { "1": "blob:fake/1" } });
    const html = renderToString(createElement(AvatarCacheProvider, { cache }, createElement(ProfilePicture, { userId: "1", emoji: "🙂" })));
    expect(html).toContain('data-avatar-state="fallback"');
    expect(html).not.toContain("aria-busy");
    expect(cache.calls.peek).toEqual([]);
    expect(cache.calls.get).toEqual([]);
  });

  test("hydration matches the server's markup, then the cached picture shows", async () => {
    // The server has no cache; the browser has one that already holds the picture.
    const cache = new FakeAvatarCache({ seen: { "1": "blob:fake/1" } });
    const ui = (c: FakeAvatarCache | null) =>
      createElement(AvatarCacheProvider, { cache: c }, createElement(ProfilePicture, { userId: "1", emoji: "🙂", alt: "one" }));
    const container = document.createElement("div");
    container.innerHTML = renderToString(ui(null));
    document.body.append(container);
    const errors = vi.spyOn(console, "error");
    const recoverable: unknown[] = [];
    await act(async () => {
      hydrateRoot(container, ui(cache), { onRecoverableError: (e) => recoverable.push(e) });
    });
    await waitFor(() => expect(container.querySelector("img")?.getAttribute("src")).toBe("blob:fake/1"));
    expect(recoverable).toEqual([]);
    expect(errors).not.toHaveBeenCalled();
    container.remove();
  });
});

test("the real AvatarCache.open says it needs a browser", async () => {
  const error: unknown = await AvatarCache.open().catch((e: unknown) => e);
  expect(isAvatarCacheError(error)).toBe(true);
  if (!isAvatarCacheError(error)) return;
  expect(error.code).toBe("UNSUPPORTED_ENVIRONMENT");
  expect(error.message).toMatch(/needs a browser.*jsdom.*avatar-cache\/testing/);
});

test("FakeAvatarCache has AvatarCache's methods with the same types (checked by tsc in the build)", () => {
  type Methods = "peek" | "get" | "prefetch" | "setPicture" | "invalidate" | "clear" | "subscribe" | "stats" | "diagnose" | "close";
  const standIn: Pick<AvatarCache, Methods> = new FakeAvatarCache();
  expect(standIn.peek("1")).toBeUndefined();
});
