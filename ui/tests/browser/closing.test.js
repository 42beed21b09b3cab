// Closing the window with work not yet at the back office, in real Chromium on the fake shell:
// the question, its keys, "Sync now and close" with its progress or its failure, "Close anyway".
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { launch, openApp, sellOne as sell, serveDist } from "./harness.js";

let server, browser;
before(async () => {
  server = await serveDist();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const requestClose = (page) => page.evaluate(() => window.__mock.requestClose());
const closed = (page) => page.evaluate(() => window.__mock.closed);
const closeCalls = async (page) =>
  (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "close_app").map((c) => c.args.choice);
const pendingSales = (page) => page.evaluate(() => window.__mock.db.tickets.filter((t) => t.sync_state === "pending").length);

describe("closing the till", () => {
  it("closes at once with nothing pending, and on a till that is not enrolled", async () => {
    for (const seed of [{ tickets: false }, { enrolled: false }]) {
      const { page, context, errors } = await openApp(browser, server.url, { seed });
      try {
        if (seed.tickets === false) await page.evaluate(() => window.__mock.emitState({ pending: 0 }));
        await requestClose(page);
        assert.equal(await closed(page), true, `closes without asking: ${JSON.stringify(seed)}`);
        assert.equal(await page.getByTestId("close-dialog").count(), 0, "no question");
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    }
  });

  it("asks with the sales pending; Escape keeps the till open, Enter syncs with progress and closes", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { failed: false, conflicts: false, syncDelayMs: 900 } });
    try {
      await sell(page);
      await sell(page);
      const sales = await pendingSales(page);
      assert.ok(sales > 1, "the seed has sales pending");
      await requestClose(page);
      await page.getByTestId("close-unsent").filter({ hasText: `${sales} sales are not yet at the back office` }).waitFor();
      await page.keyboard.press("Escape");
      await page.getByTestId("close-dialog").waitFor({ state: "detached" });
      assert.equal(await closed(page), false, "Cancel keeps the till open");
      assert.deepEqual(await closeCalls(page), [], "Cancel asks nothing of the shell");

      await requestClose(page);
      await page.getByTestId("close-dialog").waitFor();
      await page.keyboard.press("Enter");
      await page.getByTestId("close-progress").filter({ hasText: "Sending…" }).waitFor();
      assert.equal(await page.getByTestId("close-cancel").isDisabled(), true, "no cancelling a close the shell will finish");
      await page.waitForFunction(() => window.__mock.closed);
      assert.deepEqual(await closeCalls(page), ["sync_and_close"]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("takes Enter and Escape over the PIN pad of a locked till", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { employees: true, syncDelayMs: 200 } });
    try {
      await page.getByTestId("lock-screen").waitFor();
      await page.evaluate(() => window.__mock.emitState({ pending: 3 }));
      await requestClose(page);
      await page.getByTestId("close-dialog").waitFor();
      await page.keyboard.press("Escape");
      await page.getByTestId("close-dialog").waitFor({ state: "detached" });
      await requestClose(page);
      await page.getByTestId("close-dialog").waitFor();
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => window.__mock.closed);
      assert.equal(await page.getByTestId("pin-error").count(), 0, "the PIN pad took no Enter");
      assert.deepEqual(await closeCalls(page), ["sync_and_close"]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("says why the sales could not be sent, and Close anyway closes", async () => {
    const seed = { failed: false, conflicts: false, syncDelayMs: 200, syncFails: "cannot reach the back office" };
    const { page, context, errors } = await openApp(browser, server.url, { seed });
    try {
      await sell(page);
      await requestClose(page);
      await page.getByTestId("close-sync").click();
      await page.getByTestId("close-failure").filter({ hasText: "cannot reach the back office" }).waitFor();
      assert.equal(await closed(page), false, "a failed sync does not close");
      await page.getByTestId("close-anyway").click();
      await page.waitForFunction(() => window.__mock.closed);
      assert.deepEqual(await closeCalls(page), ["sync_and_close", "close_anyway"]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
