import { useSyncExternalStore } from "react";

import { isOffline, setOffline, subscribeOffline } from "../api";

/** Cuts the cache's network (image API and object storage) for this tab, as a dropped link would. */
export function OfflineSwitch() {
  const offline = useSyncExternalStore(subscribeOffline, isOffline);
  return (
    <label className={offline ? "net-switch offline" : "net-switch"} title="Simulate losing the network for pictures">
      <input type="checkbox" role="switch" checked={offline} onChange={(e) => setOffline(e.target.checked)} data-testid="offline-switch" />
      <span className="net-track" aria-hidden>
        <span className="net-thumb" />
      </span>
      <span className="net-label">{offline ? "Offline" : "Online"}</span>
    </label>
  );
}
