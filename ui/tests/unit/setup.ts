// Component tests run against the same in-memory shell as the browser tests.
import "../mock-backend.js";
// jsdom lays nothing out, so it has no scrolling; the screens keep chosen rows in view with it.
Element.prototype.scrollIntoView = function scrollIntoView() {};
// Nor does it watch sizes: an element bound to its size (the cart's list) keeps the one it had.
globalThis.ResizeObserver ??= class ResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
};
