// The real Till app's window gaining focus sends a waiting sale at once: a cashier coming back to
// the till is a good moment to sync (the shell nudges the engine on `WindowEvent::Focused(true)`).
//
// WebDriver cannot move a window's focus, so the test moves the X server's input focus itself
// with xdotool (XSetInputFocus, which needs no window manager under Xvfb): away to the root
// window, then back to the app's window, which GTK reports to the app as focus-in. The till
// syncs on a day's interval and a minute's debounce, far longer than the test waits, so only the
// focus can send the sale in time.
//
// Run by scripts/test-app.sh (under xvfb-run); needs the built binaries in target/debug and
// xdotool.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

import { counts, ringUpSale, waitCounts } from "./lib/till.mjs";
import { Driver, appPid, enrolledTerminal, isolatedEnv, openSyncedApp, run, stopAll, tempRoot, tillctlStatus } from "./lib/harness.mjs";

/** Sync settings under which a sale waits a minute (the longest debounce) and nothing polls. */
const SLOW_SYNC = {
  TILL_SYNC_INTERVAL_SECS: "86400",
  TILL_SYNC_DEBOUNCE_MS: "60000",
  TILL_SYNC_BACKLOG_TICK_MS: "60000",
};

/** How long the sale is watched staying pending, with the window's focus elsewhere. */
const UNFOCUSED_MS = 5000;

/** Runs xdotool on the test's X display and returns its trimmed output. */
function xdotool(args) {
  return execFileSync("xdotool", args, { encoding: "utf8" }).trim();
}

/** Gives the X input focus to `window`, returning once the X server says it has it. */
function focus(window) {
  xdotool(["windowfocus", "--sync", window]);
}

let root, server, terminalDir, driver, app;

describe("the Till app's window gaining focus", () => {
  before(async () => {
    root = tempRoot();
    ({ server, terminalDir } = await enrolledTerminal(root));
    driver = await Driver.start(isolatedEnv(root, SLOW_SYNC));
    app = await openSyncedApp(driver, terminalDir);
    // A sale rung up while the start-up cycle still runs would go in the follow-up cycle it
    // triggers: wait until the engine has recorded that cycle's end.
    await app.waitFor("the start-up cycle to end", async () => {
      const status = tillctlStatus(terminalDir);
      return status.last_sync_at !== null && status.state === "idle";
    });
  });

  after(() => stopAll({ app, driver, server, root }));

  test("sends a waiting sale to the back office at once, long before the till would have", async () => {
    const pid = appPid(driver);
    assert.ok(pid, "the app's process is found under the driver");
    const window = xdotool(["search", "--onlyvisible", "--pid", String(pid)]);
    assert.match(window, /^\d+$/, "the app shows one window");
    // The root window is the only one at depth 0 and matches any name.
    const rootWindow = xdotool(["search", "--maxdepth", "0", "--name", ""]);

    await ringUpSale(app, ["HOT-001"]);
    await waitCounts(app, "the sale to wait", (c) => c.pending === 1);
    focus(rootWindow);
    await new Promise((resolve) => setTimeout(resolve, UNFOCUSED_MS));
    assert.equal((await counts(app)).pending, 1, "losing focus sends nothing");
    assert.equal(tillctlStatus(terminalDir).pending, 1, "the sale is still queued");
    assert.equal(server.stats().sales, 0, "and the back office has not got it");

    const focusedAt = Date.now();
    focus(window);
    // Generous, yet over well before the debounce would have sent the sale.
    await waitCounts(app, "the sale to go once the window has focus", (c) => c.pending === 0 && c.state === "idle", 30000);
    assert.equal(tillctlStatus(terminalDir).pending, 0, "nothing is left queued");
    const stats = server.stats();
    assert.equal(stats.sales, 1, "the back office holds the sale");
    assert.equal(stats.duplicates, 0, "once");

    const history = JSON.parse(run("tillctl", ["--data-dir", terminalDir, "history", "--json"]));
    const pushing = history.filter((c) => c.pushed > 0);
    assert.equal(pushing.length, 1, `one cycle sent it: ${JSON.stringify(history)}`);
    assert.ok(
      pushing[0].started_at_ms >= focusedAt,
      "and it began when the window got focus back, which GTK reported to the app as focus-in",
    );
  });
});
