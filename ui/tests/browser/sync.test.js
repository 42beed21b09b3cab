// The status bar, Sync now and exporting the unsent sales when sync has failed for long, in real
// Chromium, driven by sync://state events from the fake shell.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launch, openApp, serveDist } from "./harness.js";

let server, browser;
before(async () => {
  server = await serveDist();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const emit = (page, partial) => page.evaluate((p) => window.__mock.emitState(p), partial);

describe("status bar", () => {
  it("shows the counts each sync://state event carries", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await emit(page, { pending: 12, failed: 2, conflicts: 3 });
      await page.getByTestId("pending-count").filter({ hasText: "12" }).waitFor();
      await page.getByTestId("failed-count").filter({ hasText: "2" }).waitFor();
      await page.getByTestId("conflict-count").filter({ hasText: "3" }).waitFor();
      await page.getByTestId("badge-conflicts").filter({ hasText: "3" }).waitFor();
      await emit(page, { pending: 0, failed: 0, conflicts: 0 });
      await page.getByTestId("pending-count").filter({ hasText: "0" }).waitFor();
      assert.equal(await page.getByTestId("badge-conflicts").count(), 0, "the badge goes when nothing is left");
      const reads = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "sync_status").length;
      assert.equal(reads, 1, "the UI reads the status once and then follows events");
    } finally {
      await context.close();
    }
  });

  it("shows offline with a retry countdown, then progress and ETA while a backlog drains", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.evaluate(() => window.__mock.emitState({ state: "backing_off", online: false, next_retry_at_ms: Date.now() + 65_000 }));
      await page.getByTestId("sync-state").filter({ hasText: "Offline" }).waitFor();
      assert.match(await page.getByTestId("sync-detail").innerText(), /retry in (1 min )?\d+ s/, "a countdown to the next retry");
      await emit(page, { state: "syncing", online: true, pending: 800, progress: { done: 200, total: 800 }, eta_secs: 30 });
      await page.getByTestId("sync-progress").filter({ hasText: "200 of 800 sent · about 30 s left" }).waitFor();
      assert.equal(await page.getByRole("progressbar").getAttribute("aria-valuenow"), "25");
    } finally {
      await context.close();
    }
  });
});

describe("Sync now", () => {
  it("is busy at once, then shows the result, and the synced ticket gets its back-office number", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { failed: false, conflicts: false, syncDelayMs: 700 } });
    try {
      await page.getByTestId("product-DRK-001").click();
      await page.keyboard.press("F4");
      await page.getByTestId("quick-cash").first().click();
      await page.getByTestId("complete-sale").click();
      await page.getByTestId("new-sale").click();
      await page.getByTestId("pending-count").filter({ hasText: "1" }).waitFor();

      await page.getByTestId("sync-now").click();
      assert.equal(await page.getByTestId("sync-now").getAttribute("aria-busy"), "true", "busy right after the press");
      await page.getByTestId("sync-state").filter({ hasText: "Syncing" }).waitFor();
      await page.getByTestId("sync-now-result").filter({ hasText: "Up to date" }).waitFor();
      assert.equal(await page.getByTestId("sync-now").getAttribute("aria-busy"), "false");
      await page.getByTestId("pending-count").filter({ hasText: "0" }).waitFor();

      await page.getByTestId("tab-tickets").click();
      const newest = page.getByTestId("ticket-row").first();
      await newest.getByTestId("sync-chip").filter({ hasText: "Synced · BO" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("works from F9 and reports a failed cycle", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { syncFails: "connection refused", syncDelayMs: 200 } });
    try {
      await page.keyboard.press("F9");
      await page.getByTestId("sync-now-result").filter({ hasText: "Sync failed: Back office unreachable" }).waitFor();
      await page.getByTestId("sync-state").filter({ hasText: "Back office unreachable" }).waitFor();
      await page.getByTestId("sync-state").click();
      await page.getByTestId("sync-error-message").filter({ hasText: "connection refused" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("says why it cannot run on a till that is not enrolled", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { enrolled: false } });
    try {
      await page.getByTestId("enrol-banner").waitFor();
      await page.getByTestId("sync-now").click();
      await page.getByTestId("sync-now-result").filter({ hasText: "not enrolled" }).waitFor();
      assert.match(await page.getByTestId("sync-state").innerText(), /Not connected/);
    } finally {
      await context.close();
    }
  });
});

describe("settings", () => {
  it("asks for a new token before another address, tests it without one, and shows plain http in red", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-settings").click();
      assert.equal(await page.getByTestId("needs-token").count(), 0, "the enrolled address needs nothing new");
      await page.getByTestId("server-url").fill("https://other.example:8443");
      await page.getByTestId("needs-token").waitFor();
      await page.getByTestId("cert-pin").fill("ab".repeat(32));
      await page.getByTestId("test-connection").click();
      await page.getByTestId("test-result").waitFor();
      const test = (await page.evaluate(() => window.__mock.calls)).find((c) => c.cmd === "test_connection");
      assert.deepEqual(Object.keys(test.args).sort(), ["serverUrl", "trust"], "a connection test carries no token");
      assert.equal(test.args.trust.pin_sha256, "ab".repeat(32), "and tests with the trust on the form");
      await page.getByTestId("save-server").click();
      await page.getByTestId("settings-message").filter({ hasText: "enrolment token" }).waitFor();

      await emit(page, { cleartext: true });
      const warning = page.getByTestId("cleartext-warning");
      await warning.waitFor();
      const colour = await warning.evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.equal(colour, "rgb(220, 38, 38)", "plain http stands out in red");
      await emit(page, { cleartext: false });
      await warning.waitFor({ state: "detached" });
    } finally {
      await context.close();
    }
  });
});

describe("first run", () => {
  it("sells offline at once with an enrol banner, and enrolling removes the banner", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { enrolled: false, tickets: false, conflicts: false, failed: false } });
    try {
      assert.match(await page.getByTestId("enrol-banner").innerText(), /Not connected to a back office/);
      await page.getByTestId("product-BAK-001").click();
      await page.keyboard.press("F4");
      await page.getByTestId("cash-tendered").fill("5");
      await page.keyboard.press("Enter");
      await page.getByTestId("receipt").waitFor();
      await page.getByTestId("new-sale").click();

      await page.getByTestId("enrol-cta").click();
      await page.getByTestId("server-url").fill("http://127.0.0.1:8787");
      await page.getByTestId("test-connection").click();
      await page.getByTestId("test-result").filter({ hasText: "Reachable" }).waitFor();
      await page.getByTestId("enrol-token").fill("wrong");
      await page.getByTestId("enrol").click();
      await page.getByTestId("settings-message").filter({ hasText: "did not accept" }).waitFor();
      await page.getByTestId("enrol-token").fill("good-token");
      await page.getByTestId("enrol").click();
      await page.getByTestId("enrolled").waitFor();
      assert.equal(await page.getByTestId("enrol-banner").count(), 0);
    } finally {
      await context.close();
    }
  });
});

describe("settings", () => {
  it("saves this till's operator without sending the address typed in the other panel", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-settings").click();
      await page.getByTestId("server-url").fill("http://10.9.9.9:8787");
      await page.getByTestId("operator").fill("Robin");
      await page.getByTestId("save-settings").click();
      await page.getByTestId("settings-message").filter({ hasText: "Settings saved" }).waitFor();
      const saved = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "settings_set");
      assert.deepEqual(saved.map((c) => c.args.settings), [{ server_url: null, sync_interval_secs: 30, operator: "Robin", lock_after_idle_seconds: 300 }]);

      await page.getByTestId("save-server").click();
      await page.getByTestId("settings-message").filter({ hasText: "enrolment token" }).waitFor();
      const moved = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "settings_set").at(-1);
      assert.equal(moved.args.settings.server_url, "http://10.9.9.9:8787", "moving the till is the Back office panel's own button");
      assert.equal(moved.args.settings.operator, "Robin", "and keeps what was saved");
    } finally {
      await context.close();
    }
  });
});

/** The README's table of sync settings (which the core's own test holds to the core's table). */
function readmeSettings() {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const table = readme.split("<!-- sync-settings -->")[1];
  return table
    .split("\n")
    .filter((line) => line.startsWith("| `TILL_SYNC_"))
    .map((line) => {
      const [env, dflt, allowed, doc] = line.split(" | ").map((cell) => cell.replace(/^\| /, "").replace(/ \|$/, ""));
      return { env: env.replaceAll("`", ""), dflt, allowed, doc };
    });
}

describe("sync settings", () => {
  it("are the core's: the fake shell's table matches the README's row for row", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      const rows = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("sync_settings_get"));
      const shown = rows.map((r) => {
        const unit = r.unit ? ` ${{ seconds: "s", milliseconds: "ms", hours: "h" }[r.unit] ?? r.unit}` : "";
        return { env: r.env, dflt: `${r.default}${unit}`, allowed: r.allowed, doc: r.doc };
      });
      assert.deepEqual(shown, readmeSettings());
    } finally {
      await context.close();
    }
  });

  it("lists every setting, locks one the environment fixes, refuses a bad value inline and saves the rest", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { syncEnv: { batch_size: "250" } } });
    try {
      await page.getByTestId("tab-settings").click();
      const panel = page.getByTestId("sync-settings");
      await panel.getByTestId("sync-setting-interval_secs").waitFor();
      for (const name of ["interval_secs", "request_timeout_ms", "give_way_ms", "customer_policy", "ticket_policy"]) {
        assert.equal(await panel.getByTestId(`sync-setting-${name}`).count(), 1, `${name} is listed`);
      }
      assert.match(await panel.getByTestId("sync-setting-interval_secs").innerText(), /default 30 s · 5 to 86400 s/);
      assert.equal(await panel.getByTestId("sync-input-batch_size").inputValue(), "250");
      assert.equal(await panel.getByTestId("sync-input-batch_size").isDisabled(), true, "the environment's value is changed there");
      assert.equal(await panel.getByTestId("sync-source-batch_size").innerText(), "set by TILL_SYNC_BATCH_SIZE");

      await panel.getByTestId("sync-input-pull_limit").fill("5000");
      await panel.getByTestId("sync-error-pull_limit").filter({ hasText: "pull_limit is 1 to 1000 items" }).waitFor();
      assert.equal(await page.getByTestId("save-sync-settings").isDisabled(), true);

      await panel.getByTestId("sync-input-pull_limit").fill("200");
      await panel.getByTestId("sync-input-interval_secs").fill("60");
      await panel.getByTestId("sync-input-customer_policy").selectOption("manual");
      await page.getByTestId("save-sync-settings").click();
      await page.getByTestId("sync-settings-message").filter({ hasText: "Sync settings saved" }).waitFor();
      const saved = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "sync_settings_set");
      assert.deepEqual(saved.map((c) => c.args.changes), [[
        { name: "interval_secs", value: "60" },
        { name: "pull_limit", value: "200" },
        { name: "customer_policy", value: "manual" },
      ]]);
      assert.equal(await panel.getByTestId("sync-source-pull_limit").innerText(), "saved on this till");

      await page.getByTestId("operator").fill("Robin");
      await page.getByTestId("save-settings").click();
      await page.getByTestId("settings-message").filter({ hasText: "Settings saved" }).waitFor();
      const till = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "settings_set").at(-1);
      assert.equal(till.args.settings.sync_interval_secs, 60, "This till keeps the interval the Sync panel saved");
    } finally {
      await context.close();
    }
  });
});

describe("sync activity", () => {
  it("folds idle cycles into one line and shows errors without addresses", async () => {
    const since = new Date(2026, 0, 5, 10, 42).getTime();
    const history = [
      { id: 140, started_at_ms: since + 70 * 60_000, since_ms: since, duration_ms: 30, cycles: 139, pushed: 0, pulled: 0, conflicts: 0, errors: 0, failure: null,
        bytes_sent: 41_700, bytes_received: 139_000, requests: 139, latency_p50_ms: 38, latency_p99_ms: 95 },
      { id: 1, started_at_ms: since - 60_000, since_ms: since - 60_000, duration_ms: 5012, cycles: 1, pushed: 0, pulled: 0, conflicts: 0, errors: 1,
        failure: { code: "server_unreachable", message: "cannot reach the server: error sending request" },
        bytes_sent: 0, bytes_received: 0, requests: 0, latency_p50_ms: null, latency_p99_ms: null },
    ];
    const { page, context } = await openApp(browser, server.url, { seed: { history } });
    try {
      await page.getByTestId("tab-activity").click();
      await page.getByTestId("cycle-row").first().waitFor();
      assert.equal(await page.getByTestId("cycle-row").count(), 2, "139 idle cycles are one line");
      assert.match(await page.getByTestId("cycle-row").first().innerText(), /No changes since 10:42/);
      const table = await page.getByTestId("history-table").innerText();
      assert.match(table, /Back office unreachable/);
      assert.doesNotMatch(table, /http/, "no raw addresses");
      const wire = page.getByTestId("cycle-wire");
      assert.equal(await wire.first().innerText(), "42 kB ↑ 139 kB ↓ · 38 ms p50", "the folded line's bytes, summed");
      assert.equal(await wire.first().getAttribute("title"), "139 requests · p99 95 ms");
      assert.equal(await wire.nth(1).innerText(), "", "a cycle that reached nothing cost nothing on the wire");
    } finally {
      await context.close();
    }
  });
});

const HOUR = 60 * 60 * 1000;
const failingFor = (ms) => ({
  state: "backing_off", online: false, pending: 5, next_retry_at_ms: Date.now() + 30_000,
  last_success_at_ms: Date.now() - ms,
  last_error: { code: "server_unreachable", message: "cannot reach the server: connection refused" },
});

describe("export unsent sales", () => {
  it("is offered only once sync has failed for long with sales unsent", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { enrolled: true } });
    try {
      await page.getByTestId("tab-activity").click();
      await page.getByTestId("pause-toggle").waitFor();
      assert.equal(await page.getByTestId("export-unsent").count(), 0, "not while sync works");
      await emit(page, failingFor(10 * 60 * 1000));
      await page.getByTestId("sync-state").filter({ hasText: "Back office unreachable" }).waitFor();
      assert.equal(await page.getByTestId("export-unsent").count(), 0, "not for a short outage");
      await emit(page, failingFor(2 * HOUR));
      await page.getByTestId("export-unsent").waitFor();
      await emit(page, { pending: 0 });
      await page.getByTestId("export-unsent").waitFor({ state: "detached" });
      await emit(page, { state: "stopped", pending: 2, last_success_at_ms: Date.now() });
      await page.getByTestId("export-unsent").waitFor();
      await emit(page, { state: "idle", online: true, last_error: null });
      await page.getByTestId("export-unsent").waitFor({ state: "detached" });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("writes the file on a till without employees and shows where", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { enrolled: true } });
    try {
      await page.getByTestId("tab-activity").click();
      await emit(page, failingFor(3 * HOUR));
      await page.getByTestId("export-unsent").click();
      await page.getByTestId("export-result").filter({ hasText: "5 unsent items written to" }).waitFor();
      assert.match(await page.getByTestId("export-path").innerText(), /Documents\/till-unsent-.*\.json$/);
      assert.equal(await page.getByTestId("approval-dialog").count(), 0, "no approval without employees");
    } finally {
      await context.close();
    }
  });

  it("takes a manager's approval on a till with employees; a cancelled one writes nothing", async () => {
    const seed = { enrolled: true, employees: true, signedIn: "1234" };
    const { page, context } = await openApp(browser, server.url, { seed });
    try {
      await page.getByTestId("signed-in").waitFor();
      await page.getByTestId("tab-activity").click();
      await emit(page, failingFor(3 * HOUR));
      await page.getByTestId("export-unsent").click();
      const dialog = page.getByTestId("approval-dialog");
      await dialog.waitFor();
      assert.equal(await page.getByTestId("approval-action").innerText(), "Export unsent sales");
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      assert.equal(await page.evaluate(() => window.__mock.db.exports.length), 0, "cancelled: nothing written");
      assert.equal(await page.getByTestId("export-result").count(), 0);

      await page.getByTestId("export-unsent").click();
      await dialog.waitFor();
      await page.keyboard.type("9999", { delay: 30 });
      await page.keyboard.press("Enter");
      await dialog.waitFor({ state: "detached" });
      await page.getByTestId("export-result").waitFor();
      const approvals = await page.evaluate(() => window.__mock.db.approvals);
      assert.deepEqual(approvals.map((a) => [a.action, a.by.name]), [["export_queue", "Maria"]]);
      const call = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "export_unsent").pop();
      assert.equal(call.args.approvePin, "9999", "the manager's PIN goes with the command");
    } finally {
      await context.close();
    }
  });
});
