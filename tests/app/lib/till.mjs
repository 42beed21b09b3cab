// What a cashier or manager does in the Till window, in terms of the UI's data-testid hooks.
// Shared by the end-to-end tests and the README screenshots.

import { KEYS } from "./webdriver.mjs";

export const tid = (id) => `[data-testid="${id}"]`;

/** The counts and state the status bar shows. */
export function counts(app) {
  return app.exec(`
    const n = (id) => {
      const el = document.querySelector('[data-testid="' + id + '"] .n');
      return el ? Number(el.textContent) : null;
    };
    const bar = document.querySelector('[data-testid="status-bar"]');
    return { pending: n("pending-count"), failed: n("failed-count"), conflicts: n("conflict-count"),
             state: bar ? bar.dataset.state : null };
  `);
}

export function waitCounts(app, what, pred, timeoutMs = 30000) {
  return app.waitFor(what, async () => {
    const c = await counts(app);
    return pred(c) ? c : null;
  }, timeoutMs);
}

/** Starts recording every pending count the status bar shows (a MutationObserver in the page). */
export function recordPending(app) {
  return app.exec(`
    window.__pendingSeen = [];
    const el = document.querySelector('[data-testid="pending-count"]');
    const note = () => {
      const n = Number(el.querySelector('.n').textContent);
      const seen = window.__pendingSeen;
      if (seen[seen.length - 1] !== n) seen.push(n);
    };
    note();
    new MutationObserver(note).observe(el, { subtree: true, childList: true, characterData: true });
  `);
}

export const pendingSeen = (app) => app.exec("return window.__pendingSeen");

export const openTab = (app, id) => app.click(tid(`tab-${id}`));

export async function enabled(app, id) {
  const [el] = await app.all(tid(id));
  return el && (await el.attr("disabled")) === null;
}

/** Puts the given SKUs in the cart and waits for the core's quote. */
export async function fillCart(app, skus) {
  await openTab(app, "register");
  for (const sku of skus) await app.click(tid(`product-${sku}`));
  const lines = new Set(skus).size;
  await app.waitFor(`${lines} lines in the cart`, async () => (await app.all(tid("cart-line"))).length === lines);
  await app.waitFor("Pay to be enabled", () => enabled(app, "pay"));
}

/** Rings up one sale of the given SKUs through the register, paid with exact cash. */
export async function ringUpSale(app, skus) {
  await fillCart(app, skus);
  await payInCash(app);
  await app.click(tid("new-sale"));
}

/** Pays the cart in cash and completes the sale, leaving its receipt on screen. */
export async function payInCash(app) {
  await app.click(tid("pay"));
  await app.click(tid("quick-cash"));
  await app.waitFor("Complete sale to be enabled", () => enabled(app, "complete-sale"));
  await app.click(tid("complete-sale"));
  await app.find(tid("sale-complete"));
}

/** Opens a customer by name on the Customers screen, waiting for it to be there. */
export async function openCustomer(app, name, timeoutMs = 30000) {
  await openTab(app, "customers");
  const row = await app.waitFor(`customer ${name}`, async () => {
    for (const r of await app.all(tid("customer-row"))) if ((await r.text()).includes(name)) return r;
    return null;
  }, timeoutMs);
  // WebKitWebDriver does not click table rows themselves; the row's first cell is the target.
  await (await row.find("td")).click();
}

/** Changes the open customer's e-mail and saves it. */
export async function editEmail(app, email) {
  const input = await app.find(tid("cust-email"));
  await input.clear();
  await input.type(email);
  await app.click(tid("save-customer"));
}

/** The names and SKUs of the cart's lines, in order. */
export function cartLines(app) {
  return app.exec(`
    return [...document.querySelectorAll('[data-testid="cart-line"]')].map((li) => ({
      sku: li.dataset.sku, name: li.querySelector(".name").textContent.trim() }));
  `);
}

/**
 * Types `text` into the search field and presses Enter in the same burst (one WebDriver send of
 * all the keys), the way a fast cashier or a keyboard-wedge scanner does; returns the cart once
 * it has `lines` lines.
 */
export async function burst(app, text, lines) {
  const search = await app.find(tid("product-search"));
  await search.type(`${text}${KEYS.enter}`);
  return app.waitFor(`${lines} lines after ${text}`, async () => {
    const cart = await cartLines(app);
    return cart.length === lines ? cart : null;
  });
}

/** Empties the sale without ringing it up. */
export async function clearSale(app) {
  await app.click(tid("clear-sale"));
  await app.click(tid("confirm-clear"));
  await app.find(tid("cart-empty"));
}

/** Taps `pin` on the PIN pad on show (the lock screen's or the approval dialog's), then Enter. */
export async function tapPin(app, pin) {
  for (const d of pin) await app.click(tid(`pin-key-${d}`));
  await app.click(tid("pin-key-enter"));
}

/** Replaces what the field holds with `text`. */
export async function typeInto(app, id, text) {
  const input = await app.find(tid(id));
  await input.clear();
  await input.type(text);
}

/** Waits for the element's text (as the page holds it, shown or not) to match `re`; returns it. */
export function textMatching(app, id, re) {
  return app.waitFor(`${id} to read ${re}`, async () => {
    const text = await app.exec(`return document.querySelector(arguments[0])?.textContent.trim() ?? ""`, tid(id));
    return re.test(text) ? text : null;
  });
}

/** Opens a shift on the Shift screen with `float` (as typed, e.g. "100") in the drawer. */
export async function openShift(app, float) {
  await openTab(app, "shift");
  await typeInto(app, "shift-float", float);
  await app.click(tid("open-shift"));
  await textMatching(app, "shift-state", /^Open/);
}

/** Closes the open shift with the drawer counted (`{value in minor units: how many}`); returns
 * once its Z report shows. */
export async function closeShift(app, counted) {
  await openTab(app, "shift");
  await app.click(tid("close-shift"));
  for (const [value, n] of Object.entries(counted)) await typeInto(app, `count-${value}`, String(n));
  await app.waitFor("the count", () => enabled(app, "confirm-close"));
  await app.click(tid("confirm-close"));
  return textMatching(app, "z-report", /Z report/);
}
