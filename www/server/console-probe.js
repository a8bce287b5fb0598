// Served first in every HTML page when the backend runs with --console-probe (end-to-end tests
// over WebDriver, which has no console events): records console.error calls, uncaught errors and
// unhandled rejections in window.__E2E_CONSOLE_ERRORS__ for the test to read.
(() => {
  const errors = (window.__E2E_CONSOLE_ERRORS__ = []);
  const text = (v) => {
    if (v instanceof Error) return `${v.name}: ${v.message}`;
    if (typeof v === "object" && v !== null) {
      try {
        return JSON.stringify(v);
      } catch {
        return String(v);
      }
    }
    return String(v);
  };
  const original = console.error;
  console.error = function (...args) {
    errors.push(`console.error: ${args.map(text).join(" ")}`);
    return original.apply(this, args);
  };
  window.addEventListener("error", (e) => errors.push(`pageerror: ${e.message || text(e.error)}`));
  window.addEventListener("unhandledrejection", (e) => errors.push(`unhandledrejection: ${text(e.reason)}`));
})();
