import { useEffect, useState } from "react";
import type { AvatarCache, CacheStats } from "avatar-cache";

import { backendStats, resetBackendStats, setBackendControl, type BackendStats } from "../api";

type LayerName = "memory" | "local" | "indexeddb" | "network";
const LAYERS: { key: LayerName; label: string }[] = [
  { key: "memory", label: "Memory" },
  { key: "local", label: "localStorage" },
  { key: "indexeddb", label: "IndexedDB" },
  { key: "network", label: "Network" },
];
const LATENCIES = [0, 120, 400, 1500];
const FAIL_RATES = [0, 0.2, 0.5, 1];

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** Live numbers from `cache.stats()` (polled and on every change) and the backend's counters. */
export function DiagnosticsPanel({ cache }: { cache: AvatarCache }) {
  const [stats, setStats] = useState<CacheStats>(() => cache.stats());
  const [server, setServer] = useState<BackendStats | null>(null);

  useEffect(() => {
    let frame = 0;
    const refresh = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setStats(cache.stats());
      });
    };
    const unsubscribe = cache.subscribe(refresh);
    const timer = setInterval(refresh, 500);
    return () => {
      unsubscribe();
      clearInterval(timer);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [cache]);

  useEffect(() => {
    let live = true;
    const poll = () => backendStats().then((s) => live && setServer(s), () => undefined);
    void poll();
    const timer = setInterval(poll, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);

  const idb = stats.idb;
  const idbShare = idb && idb.maxBytes > 0 ? Math.min(1, idb.bytes / idb.maxBytes) : 0;
  const control = server?.control;

  return (
    <aside className="diagnostics" aria-label="Cache diagnostics" data-testid="diagnostics">
      <div className="diag-head">
        <h2>Cache diagnostics</h2>
        <span className={`pill breaker ${stats.breaker}`} title="Circuit breaker" data-testid="breaker">
          breaker {stats.breaker}
        </span>
      </div>

      <div className="kpis">
        <div className="kpi">
          <span className="kpi-value" data-testid="hit-rate">{stats.gets > 0 ? `${(stats.hitRate * 100).toFixed(0)}%` : "—"}</span>
          <span className="kpi-label" title={`${stats.gets} gets`}>hit rate</span>
        </div>
        <div className="kpi">
          <span className="kpi-value">{stats.inFlight}</span>
          <span className="kpi-label">in flight</span>
        </div>
        <div className="kpi">
          <span className="kpi-value">{stats.objectUrls}</span>
          <span className="kpi-label">object URLs</span>
        </div>
      </div>

      <table className="layers">
        <thead>
          <tr>
            <th>Layer</th>
            <th>hits</th>
            <th>miss</th>
            <th>stale</th>
            <th>p95 ms</th>
          </tr>
        </thead>
        <tbody>
          {LAYERS.map(({ key, label }) => {
            const l = stats.layers[key];
            return (
              <tr key={key} data-testid={`layer-${key}`}>
                <th>{label}</th>
                <td>{l.hits}</td>
                <td>{l.misses}</td>
                <td>{l.stale}</td>
                <td>{ms(l.p95Ms)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {stats.layers.network.errors > 0 && <p className="muted small">{stats.layers.network.errors} network errors</p>}

      <div className="meter-block">
        <div className="meter-label">
          <span>IndexedDB</span>
          <span data-testid="idb-usage">{idb ? `${bytes(idb.bytes)} · ${idb.entries} images` : "unavailable"}</span>
        </div>
        <div className="meter">
          <div className="meter-fill" style={{ width: `${Math.max(idbShare * 100, idb && idb.bytes > 0 ? 1.5 : 0)}%` }} />
        </div>
        {idb && <div className="meter-foot">of {bytes(idb.maxBytes)} / {idb.maxEntries} entries</div>}
      </div>
      <div className="row-stat">
        <span>localStorage</span>
        <span>{bytes(stats.localBytes)}</span>
      </div>
      {stats.storage && (
        <div className="row-stat">
          <span>Origin storage</span>
          <span>
            {bytes(stats.storage.usage)}
            {stats.storage.persisted ? " · persisted" : ""}
          </span>
        </div>
      )}

      {stats.recentErrors.length > 0 && (
        <div className="errors">
          <h3>Recent errors</h3>
          <ul>
            {stats.recentErrors.slice(-3).reverse().map((e, i) => (
              <li key={`${e.at}-${i}`}>
                <strong>{e.layer}</strong> {e.reason}
              </li>
            ))}
          </ul>
        </div>
      )}

      <h3 className="diag-sub">Backend</h3>
      {server ? (
        <dl className="server-stats" data-testid="server-stats">
          <div><dt>API calls</dt><dd data-testid="server-api">{server.api.total}</dd></div>
          <div><dt>batched</dt><dd>{server.api.batch} ({server.api.batchIds} ids)</dd></div>
          <div><dt>image downloads</dt><dd data-testid="server-images">{server.images.ok}</dd></div>
          <div><dt>image bytes</dt><dd>{bytes(server.images.bytes)}</dd></div>
          <div><dt>304 / 403</dt><dd>{server.images.notModified} / {server.images.forbidden}</dd></div>
        </dl>
      ) : (
        <p className="muted small">no backend counters</p>
      )}

      {control && (
        <div className="controls">
          <label>
            <span>Latency</span>
            <select
              value={control.latencyMs}
              onChange={(e) => {
                const v = Number(e.target.value);
                void setBackendControl({ latencyMs: v, storageLatencyMs: Math.round(v * 0.7) });
              }}
            >
              {[...new Set([...LATENCIES, control.latencyMs])].map((v) => (
                <option key={v} value={v}>{v} ms</option>
              ))}
            </select>
          </label>
          <label>
            <span>Failures</span>
            <select value={control.failRate} onChange={(e) => void setBackendControl({ failRate: Number(e.target.value) })}>
              {[...new Set([...FAIL_RATES, control.failRate])].map((v) => (
                <option key={v} value={v}>{Math.round(v * 100)}%</option>
              ))}
            </select>
          </label>
        </div>
      )}

      <div className="diag-actions">
        <button className="btn small" onClick={() => cache.diagnose()} title="Prints the cache's tables in the devtools console">
          Diagnose in console
        </button>
        <button className="btn small" onClick={() => void resetBackendStats()}>
          Reset counters
        </button>
        <button className="btn small danger" onClick={() => void cache.clear()} data-testid="clear-cache">
          Clear cache
        </button>
      </div>
    </aside>
  );
}
