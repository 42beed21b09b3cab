// `make screenshots`: the README's pictures, taken from the real app (WebDriver screenshots of
// the window) against a real till-server, at the default window size (1280×800) and the smallest
// the app allows (1024×700): the register with a long cart, the status bar while offline after a
// failed sync, and the conflict review screen; and, at 1280×800, the status bar while a backlog
// drains, a sale's receipt, and, on a second till with employees, the PIN pad and a shift's Z
// report. Run by
// scripts/screenshots.sh.

import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { Session } from "./lib/webdriver.mjs";
import { APP, Driver, ROOT, enrolledTerminal, isolatedEnv, run, stopAll, tempRoot } from "./lib/harness.mjs";
import { clearSale, closeShift, counts, editEmail, fillCart, openCustomer, openShift, openTab, payInCash, ringUpSale, tapPin, tid, waitCounts } from "./lib/till.mjs";

const OUT = process.env.TILL_SCREENSHOTS_DIR ?? path.join(ROOT, "docs", "screenshots");
const BACKLOG = Number(process.env.TILL_SCREENSHOT_BACKLOG ?? 8000);
const [DEFAULT, SMALLEST] = [
  { width: 1280, height: 800 },
  { width: 1024, height: 700 },
];
const LONG_CART = ["BAK-002", "HOT-003", "HOT-003", "PRD-002", "CLD-004", "DEL-006", "DRY-001", "PAN-010", "SNK-006", "HSH-014", "BAK-010", "CLD-001"];

const root = tempRoot("till-shots-");
let server, driver, app;
try {
  mkdirSync(OUT, { recursive: true });
  let terminalDir;
  ({ server, terminalDir } = await enrolledTerminal(root, "Till 1"));
  driver = await Driver.start(isolatedEnv(root));
  app = await Session.start(driver.url, APP, ["--data-dir", terminalDir]);
  await app.find(tid("status-bar"));
  await waitCounts(app, "the first sync", (c) => c.pending === 0 && c.state === "idle");

  /**
   * Sizes the window, lets WebKit lay it out and paint, and saves `name`-WIDTHxHEIGHT.png. WebKit
   * may hand over its last painted frame rather than the page as it is now (a window just made
   * larger, a status just changed): each capture waits a moment, and the first after a resize is
   * thrown away.
   */
  const shot = async (name, { width, height }) => {
    const resized = await app.exec(`return innerWidth !== ${width} || innerHeight !== ${height}`);
    if (resized) {
      await app.setWindowRect(width, height);
      await app.waitFor(`a ${width}×${height} window`, () => app.exec(`return innerWidth === ${width} && innerHeight === ${height}`));
      await new Promise((r) => setTimeout(r, 1000));
      await app.screenshot();
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 700));
    const file = path.join(OUT, `${name}-${width}x${height}.png`);
    writeFileSync(file, await app.screenshot());
    console.log(`screenshots: ${file}`);
  };

  // 1. The register with a long cart.
  await fillCart(app, LONG_CART);
  await counts(app).then((c) => console.log(`screenshots: register with status ${JSON.stringify(c)}`));
  for (const size of [SMALLEST, DEFAULT]) await shot("register", size);
  await clearSale(app);

  // 2. The status bar while a backlog drains: tickets rung up while the back office was down.
  await server.stop();
  console.log(`screenshots: ringing up ${BACKLOG} tickets while the back office is down`);
  run("tillctl", ["--data-dir", terminalDir, "ring-up", "--demo", String(BACKLOG)], { stdio: "ignore" });
  await server.start();
  await app.click(tid("sync-now"));
  await app.waitFor("the progress bar to move", async () => {
    const [bar] = await app.all(`${tid("sync-progress")} [role="progressbar"]`);
    return bar && Number(await bar.attr("aria-valuenow")) >= 10;
  }, 120000);
  await shot("syncing", DEFAULT);
  await waitCounts(app, "the backlog to drain", (c) => c.pending === 0 && c.state === "idle", 600000);

  // 3. The conflict review: a customer edited here and in the back office.
  const id = randomUUID();
  server.cli(["customer", "add", id, "--name", "Grace Hopper", "--email", "grace@example.org", "--phone", "+44 20 7946 0000"]);
  await app.click(tid("sync-now"));
  await openCustomer(app, "Grace Hopper");
  await server.stop();
  await editEmail(app, "grace@till.example");
  await waitCounts(app, "the local edit", (c) => c.pending === 1);
  server.cli(["customer", "edit", id, "--email", "g.hopper@office.example", "--note", "Prefers e-mail receipts"]);
  await server.start();
  await app.click(tid("sync-now"));
  await waitCounts(app, "the conflict", (c) => c.conflicts === 1, 60000);
  await openTab(app, "conflicts");
  await app.click(tid("conflict-item"));
  await app.find(tid("conflict-fields"));
  for (const size of [DEFAULT, SMALLEST]) await shot("conflict", size);

  // 4. Offline after a failed sync: two sales wait, and Sync now says why it could not send them.
  await server.stop();
  await openTab(app, "register");
  for (let i = 0; i < 2; i++) await ringUpSale(app, ["HOT-001", "BAK-002"]);
  await fillCart(app, ["CLD-004", "SNK-006"]);
  for (const size of [SMALLEST, DEFAULT]) {
    await app.click(tid("sync-now"));
    await app.waitFor("the failed sync", async () => {
      const result = await app.exec(`return document.querySelector('[data-testid="sync-now-result"]')?.textContent ?? ""`);
      return /Sync failed/.test(result);
    }, 60000);
    await shot("offline", size);
  }

  // 5. A sale's receipt on screen, drawn from the same model the printer's bytes come from.
  await server.start();
  await clearSale(app);
  await fillCart(app, ["HOT-001", "BAK-002", "CLD-004"]);
  await payInCash(app);
  await app.find(tid("receipt"));
  await shot("receipt", DEFAULT);
  await app.click(tid("new-sale"));

  // 6. A till with employees: the PIN pad as a PIN is being typed, and the Z report of a shift
  // with a few sales, counted a little short.
  server.cli(["employee", "add", "Sam", "--role", "cashier", "--pin", "1234"]);
  server.cli(["employee", "add", "Maria", "--role", "manager", "--pin", "9999"]);
  const staffed = JSON.parse(server.cli(["terminal", "add", "Till 2", "--json"]));
  const staffedDir = path.join(root, "terminal-2");
  run("tillctl", ["--data-dir", staffedDir, "enrol", "--server", server.url, "--token", staffed.token]);
  run("tillctl", ["--data-dir", staffedDir, "sync"]);
  await app.end();
  app = await Session.start(driver.url, APP, ["--data-dir", staffedDir]);
  await app.find(tid("lock-screen"));
  for (const d of "12") await app.click(tid(`pin-key-${d}`));
  await shot("pin-pad", DEFAULT);
  await tapPin(app, "34");
  await app.find(tid("signed-in"));
  await openShift(app, "150");
  await ringUpSale(app, ["HOT-001", "BAK-002", "CLD-004"]);
  await ringUpSale(app, ["DRY-001", "PAN-010"]);
  await closeShift(app, { 10000: 1, 5000: 1, 500: 1 });
  await shot("z-report", DEFAULT);
} finally {
  await stopAll({ app, driver, server, root });
}
