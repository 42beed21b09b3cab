// The real Till app on a till with employees, driven through tauri-driver against a real
// till-server on loopback: Sam (a cashier) and Maria (a manager) are added in the back office and
// pulled before the app starts. One session walks through a shift in order: the PIN pad, opening
// the shift, a sale paid by card and cash, a void a manager approves, the close with the drawer
// counted and its Z report; then a sale in progress and a parked sale outlive the app killed.
//
// Run by scripts/test-app.sh (under xvfb-run); needs the built binaries in target/debug.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { Session } from "./lib/webdriver.mjs";
import { closeShift, enabled, fillCart, openShift, openTab, tapPin, textMatching, tid, typeInto } from "./lib/till.mjs";
import { APP, Driver, appPid, enrolledTerminal, isolatedEnv, run, stopAll, tempRoot } from "./lib/harness.mjs";

const CASHIER_PIN = "1234";
const MANAGER_PIN = "9999";

let root, server, terminalDir, driver, app;

const tillctl = (...args) => JSON.parse(run("tillctl", ["--data-dir", terminalDir, ...args, "--json"]));

/** Starts the app on the terminal's data dir, through a fresh tauri-driver. */
async function startApp() {
  driver = await Driver.start(isolatedEnv(root));
  app = await Session.start(driver.url, APP, ["--data-dir", terminalDir]);
}

/** An amount in minor units as the Z report writes its digits: 12345 → "123.45". */
const digits = (minor) => (Math.abs(minor) / 100).toFixed(2);

describe("the Till app with employees", () => {
  before(async () => {
    root = tempRoot();
    ({ server, terminalDir } = await enrolledTerminal(root, "Till staff"));
    server.cli(["employee", "add", "Sam", "--role", "cashier", "--pin", CASHIER_PIN]);
    server.cli(["employee", "add", "Maria", "--role", "manager", "--pin", MANAGER_PIN]);
    run("tillctl", ["--data-dir", terminalDir, "sync"]);
    await startApp();
  });

  after(() => stopAll({ app, driver, server, root }));

  test("opens on the PIN pad; a wrong PIN is refused, the right one signs Sam in", async () => {
    await app.find(tid("lock-screen"));
    assert.equal((await app.all(tid("product-search"))).length, 0, "nothing of the register shows while locked");
    await tapPin(app, "5555");
    await textMatching(app, "pin-error", /wrong PIN/i);
    await tapPin(app, CASHIER_PIN);
    await textMatching(app, "signed-in", /^Sam$/);
  });

  test("Sam opens a shift with a float of 100.00", async () => {
    await openShift(app, "100");
    await textMatching(app, "shift-state", /Open · Z 1 · Sam/);
  });

  test("a sale paid part by card and the rest in cash", async () => {
    await fillCart(app, ["BAK-002", "HOT-003"]);
    await app.click(tid("pay"));
    await app.click(tid("method-split"));
    await typeInto(app, "split-card-amount", "1");
    await typeInto(app, "split-card-approval", "A-1");
    await app.find(tid("split-remaining"));
    await typeInto(app, "split-cash", "50");
    await app.waitFor("Complete sale to be enabled", () => enabled(app, "complete-sale"));
    await app.click(tid("complete-sale"));
    await app.find(tid("sale-complete"));
    await app.click(tid("new-sale"));
    const [sale] = tillctl("tickets", "--limit", "1");
    assert.equal(sale.kind, "sale");
    const shown = tillctl("tickets", "--number", String(sale.number));
    const kinds = JSON.stringify(shown.tenders ?? shown);
    assert.match(kinds, /"card"/, `paid by card: ${kinds}`);
    assert.match(kinds, /"cash"/, `and in cash: ${kinds}`);
  });

  test("a void asks a manager's PIN in the approval dialog, and is done with it", async () => {
    await openTab(app, "tickets");
    const row = await app.waitFor("the sale in the list", async () => (await app.all(tid("ticket-row")))[0]);
    // WebKitWebDriver does not click table rows themselves; the row's first cell is the target.
    await (await row.find("td")).click();
    await app.click(tid("void-ticket"));
    await typeInto(app, "void-reason", "Customer changed their mind");
    await app.click(tid("confirm-void"));
    const dialog = await app.find(tid("approval-dialog"));
    assert.equal(await dialog.attr("data-action"), "void");
    await textMatching(app, "approval-reason", /Customer changed their mind/);
    await tapPin(app, MANAGER_PIN);
    await app.waitFor("the dialog to close", async () => (await app.all(tid("approval-dialog"))).length === 0);
    await textMatching(app, "receipt", /VOID/);
    const [void_] = tillctl("tickets", "--limit", "1");
    assert.equal(void_.kind, "void", "the void is committed");
  });

  test("closing the shift with the drawer counted shows the Z report's figures", async () => {
    const z = await closeShift(app, { 5000: 1, 2000: 2 });
    assert.match(z, /Z report · Z 1/);
    const shift = tillctl("shift", "show");
    assert.equal(shift.state, "closed");
    assert.equal(shift.counted_cash, 9000, "the count as typed: one 50 and two 20s");
    for (const [id, minor] of [["z-expected_cash", shift.expected_cash], ["z-counted_cash", shift.counted_cash], ["z-difference", shift.difference]]) {
      const text = (await app.text(tid(id))).replace(/,/g, "");
      assert.ok(text.includes(digits(minor)), `${id} shows ${minor}: ${text}`);
    }
    assert.equal(shift.difference, shift.counted_cash - shift.expected_cash);
    assert.match(z, /Closed .* by Sam/);
    await app.click(tid("close-z"));
    await textMatching(app, "shift-state", /No shift open/);
  });

  test("a sale in progress and a parked sale outlive the app killed", async () => {
    await fillCart(app, ["HOT-001"]);
    await app.click(tid("park-sale"));
    await typeInto(app, "park-label", "Blue coat");
    await app.click(tid("confirm-park"));
    await app.find(tid("cart-empty"));
    await fillCart(app, ["CLD-004"]);
    await app.waitFor("the sale in progress to be saved", () =>
      app.exec(`return window.__TAURI_INTERNALS__.invoke("current_sale").then((s) => s?.lines.length === 1)`));

    const pid = appPid(driver);
    assert.ok(pid, "the app's process is found under the driver");
    process.kill(pid, "SIGKILL");
    await app.end();
    await driver.stop();
    await startApp();

    await app.find(tid("lock-screen"));
    await tapPin(app, CASHIER_PIN);
    const line = await textMatching(app, "cart-line", /.+/);
    assert.equal(await (await app.find(tid("cart-line"))).attr("data-sku"), "CLD-004", `the sale in progress is back: ${line}`);
    await textMatching(app, "recall-sale", /1/);
    await app.click(tid("recall-sale"));
    await textMatching(app, "parked-item", /Blue coat/);
  });
});
