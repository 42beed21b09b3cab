// Component tests run against the same in-memory shell as the browser tests.
import "../mock-backend.js";
// jsdom lays nothing out, so it has no scrolling; the screens keep chosen rows in view with it.
Element.prototype.scrollIntoView = function scrollIntoView() {};
