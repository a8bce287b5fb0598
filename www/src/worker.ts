// The app's module service worker (avatar-cache/sw): the backend generates /avatar-sw.js with its
// storage origin, and the worker answers the plain <img src="/avatar/{id}"> list from the cache's
// own IndexedDB store. Registered by default; `?sw=0` leaves it out (no worker, no plain list),
// for journeys that measure the page's cache alone.
import { useSyncExternalStore } from "react";

/** Whether this visit uses the service worker (`?sw=0` opts out; some engines have none). */
export function workerWanted(search = window.location.search): boolean {
  return new URLSearchParams(search).get("sw") !== "0" && "serviceWorker" in navigator;
}

/** Registers /avatar-sw.js for the cache's namespace (`?ns=`); a failure is only a warning. */
export function registerWorker(search = window.location.search): void {
  if (!workerWanted(search)) return;
  const ns = new URLSearchParams(search).get("ns") ?? "orbit_pfp";
  navigator.serviceWorker.register(`/avatar-sw.js?ns=${encodeURIComponent(ns)}`, { type: "module" }).catch((e: unknown) => {
    console.warn("[orbit] the avatar service worker did not register:", e);
  });
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "avatar-cache:sw-error") console.error("[orbit] avatar service worker:", event.data.message);
  });
}

function subscribe(onChange: () => void): () => void {
  if (!workerWanted()) return () => undefined;
  navigator.serviceWorker.addEventListener("controllerchange", onChange);
  return () => navigator.serviceWorker.removeEventListener("controllerchange", onChange);
}

/**
 * Whether the worker controls this page. On a first visit it takes control a moment after load
 * (`clients.claim()` on activate); the plain list waits for it, so that its pictures come from
 * the shared store instead of a second download through the backend's redirect.
 */
export function useWorkerControl(): boolean {
  return useSyncExternalStore(subscribe, () => workerWanted() && navigator.serviceWorker.controller !== null, () => false);
}
