// Shutting the real app down: SIGTERM ends it through the same clean exit as closing its window
// (the register's write in progress finishes, the sync engine stops), and every sale rung up is
// in the store afterwards with its journal whole.
//
// The close question itself is not driven here: WebDriver's Close Window never reaches the
// window's close request the shell holds (the webview answers its own close signal by destroying
// itself, and the app ends without its exit path running at all). The shell's decision is
// unit-tested (`closing.rs`) and the dialog is tested on the fake shell
// (`ui/tests/browser/closing.test.js`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

import { Session } from "./lib/webdriver.mjs";
import { ringUpSale } from "./lib/till.mjs";
import { APP, Driver, appPid, isolatedEnv, run, stopAll, tempRoot } from "./lib/harness.mjs";

/** Whether the process `pid` still runs. */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("shutting the Till app down", () => {
  let root, driver, app;

  before(async () => {
    root = tempRoot();
    driver = await Driver.start(isolatedEnv(root));
  });

  after(() => stopAll({ app, driver, root }));

  test("SIGTERM finishes the register's writes and stops cleanly, and the sales are kept", async () => {
    const dir = path.join(root, "terminal");
    app = await Session.start(driver.url, APP, ["--data-dir", dir]);
    await ringUpSale(app, ["HOT-001"]);
    await ringUpSale(app, ["CLD-004"]);

    const pid = appPid(driver);
    assert.ok(pid, "the app's process is found under the driver");
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 20000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false, "the app exits on SIGTERM");

    const logs = path.join(dir, "logs");
    const log = readdirSync(logs).map((f) => readFileSync(path.join(logs, f), "utf8")).join("");
    const order = ["SIGTERM: closing", "the register's writes are finished", "till stopped"].map((line) => log.indexOf(line));
    assert.ok(order.every((at) => at >= 0), `each step of the shutdown is logged: ${order}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, "the writes finish before the app stops");

    const status = JSON.parse(run("tillctl", ["--data-dir", dir, "status", "--json"]));
    assert.equal(status.sales, 2, "both sales are in the store");
    run("tillctl", ["--data-dir", dir, "verify-journal"]);
  });
});
