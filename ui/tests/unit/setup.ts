// Component tests run against the same in-memory shell as the browser tests.
import "../mock-backend.js";
