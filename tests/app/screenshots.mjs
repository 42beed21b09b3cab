// `make screenshots`: the README's pictures, taken from the real app (WebDriver screenshots of
// the window at 1280×800) against a real till-server: the register with a cart, the status bar
// while a backlog drains, and the conflict review screen. Run by scripts/screenshots.sh.

import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { Session } from "./lib/webdriver.mjs";
import { APP, Driver, ROOT, enrolledTerminal, isolatedEnv, removeTemp, run, tempRoot } from "./lib/harness.mjs";
import { counts, editEmail, fillCart, openCustomer, openTab, tid, waitCounts } from "./lib/till.mjs";

const OUT = process.env.TILL_SCREENSHOTS_DIR ?? path.join(ROOT, "docs", "screenshots");
const BACKLOG = Number(process.env.TILL_SCREENSHOT_BACKLOG ?? 8000);

const root = tempRoot("till-shots-");
let server, driver, app;
try {
  mkdirSync(OUT, { recursive: true });
  let terminalDir, terminal;
  ({ server, terminalDir, terminal } = await enrolledTerminal(root, "Till 1"));
  driver = await Driver.start(isolatedEnv(root));
  app = await Session.start(driver.url, APP, ["--data-dir", terminalDir]);
  await app.find(tid("status-bar"));
  await waitCounts(app, "the first sync", (c) => c.pending === 0 && c.state === "idle");
  const shot = async (name) => {
    writeFileSync(path.join(OUT, name), await app.screenshot());
    console.log(`screenshots: ${path.join(OUT, name)}`);
  };

  // 1. The register with a cart.
  await fillCart(app, ["BAK-002", "HOT-003", "HOT-003", "PRD-002", "CLD-004", "DEL-006"]);
  await counts(app).then((c) => console.log(`screenshots: register with status ${JSON.stringify(c)}`));
  await shot("register.png");
  await app.click(tid("clear-sale"));
  await app.click(tid("confirm-clear"));

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
  await shot("syncing.png");
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
  await shot("conflict.png");
  void terminal;
} finally {
  if (app) await app.end();
  if (driver) await driver.stop();
  if (server) await server.stop();
  removeTemp(root);
}
