// Serves the built UI (ui/dist) on 127.0.0.1 and opens it in Debian's Chromium, headless, with
// the fake shell of tests/mock-backend.js injected before any of the UI's scripts run.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));
export const DIST = resolve(here, "../../dist");
export const MOCK = resolve(here, "../mock-backend.js");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json" };

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/**
 * Serves ui/dist on an ephemeral loopback port under a CSP at least as strict as the app's (no
 * inline styles either, as when Tauri adds nonces to style-src), so a violation shows.
 */
export async function serveDist() {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("ui/dist is missing: run `npm run build` first");
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      let file = normalize(join(DIST, path === "/" ? "index.html" : path));
      if (!file.startsWith(DIST)) throw new Error("outside dist");
      if (!(await stat(file)).isFile()) file = join(DIST, "index.html");
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] || "application/octet-stream",
        "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:",
      });
      res.end(await readFile(file));
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Opens the UI with a seeded fake shell. Object.prototype is frozen first, as the app's
 * `freezePrototype` does, so code that patches prototypes fails here too.
 */
export async function openApp(browser, url, { seed = {}, viewport = { width: 1280, height: 800 }, fixedTime } = {}) {
  const context = await browser.newContext({ viewport, locale: "en-GB", timezoneId: "Europe/London" });
  const page = await context.newPage();
  if (fixedTime) await page.clock.setFixedTime(fixedTime);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.addInitScript((s) => { window.__MOCK_SEED__ = s; }, seed);
  await page.addInitScript({ path: MOCK });
  await page.addInitScript(() => Object.freeze(Object.prototype));
  await page.goto(url);
  await page.getByTestId("store-name").filter({ hasText: seed.store?.store_name ?? "Corner Shop" }).waitFor();
  return { page, context, errors };
}

/**
 * Types `text` into the focused field at scanner speed, every key in one burst, then Enter at
 * once: the way a cashier who knows the codes (or a keyboard-wedge scanner) works.
 */
export async function burst(page, text) {
  await page.keyboard.type(text, { delay: 0 });
  await page.keyboard.press("Enter");
}

/**
 * Sends a scanner's keys (`code`, then Enter) from inside the page, a few microseconds apart, to
 * whatever has the focus, so the machine's load cannot stretch the gaps between them.
 */
export function scanFromPage(page, code) {
  return page.evaluate((keys) => {
    for (const key of keys) {
      (document.activeElement ?? document.body).dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
    }
  }, [...code, "Enter"]);
}

/** The names of the cart's lines, in order. */
export function cartNames(page) {
  return page.locator('[data-testid="cart-line"] .name').allInnerTexts();
}

/** Rings up one drink paid in cash, back at a new sale: one sale waiting for a sync. */
export async function sellOne(page) {
  await page.getByTestId("product-DRK-001").click();
  await page.keyboard.press("F4");
  await page.getByTestId("quick-cash").first().click();
  await page.getByTestId("complete-sale").click();
  await page.getByTestId("new-sale").click();
}
