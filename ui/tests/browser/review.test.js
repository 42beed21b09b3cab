// Conflict review, failed items and tickets in real Chromium against the fake shell.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
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

describe("conflict review", () => {
  it("compares both sides, takes a per-field choice, previews it, resolves, and the count drops", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    try {
      await page.getByTestId("conflict-count").filter({ hasText: "1" }).waitFor();
      await page.getByTestId("conflict-count").click();
      await page.getByTestId("conflict-item").first().click();
      assert.equal(await page.getByTestId("conflict-title").innerText(), "Alan Turing");

      const differing = page.locator('[data-testid="field-row"][data-differs="true"]');
      assert.equal(await differing.count(), 3, "email, phone and note differ");
      const email = page.locator('[data-testid="field-row"][data-field="email"]');
      assert.equal(await page.getByTestId("preview-email").innerText(), "a.turing@bletchley.example", "the back office's value by default");
      await email.getByTestId("pick-mine").click();
      assert.equal(await page.getByTestId("preview-email").innerText(), "alan@example.org", "the preview follows the pick");
      assert.equal(await email.getByTestId("pick-mine").getAttribute("aria-pressed"), "true");

      await page.getByTestId("resolve").click();
      await page.getByTestId("resolved-note").waitFor();
      await page.getByTestId("conflict-count").filter({ hasText: "0" }).waitFor();
      await page.getByTestId("no-conflicts").waitFor();
      const resolved = await page.evaluate(() => window.__mock.db.lastResolution);
      assert.deepEqual(resolved.resolution, { kind: "fields", picks: { email: "mine", phone: "theirs", note: "theirs" } });
      assert.equal(resolved.resolvedBy, "Sam", "the operator is recorded as who decided");
      await page.getByTestId("pending-count").filter({ hasText: /[1-9]/ }).waitFor();
      assert.deepEqual(errors, [], "no script errors or CSP violations");
    } finally {
      await context.close();
    }
  });

  it("keeps all of this till's values with one button", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-conflicts").click();
      await page.getByTestId("conflict-item").first().click();
      await page.getByTestId("keep-mine").click();
      assert.equal(await page.getByTestId("preview-note").innerText(), "Pays by card");
      await page.getByTestId("resolve").click();
      await page.getByTestId("no-conflicts").waitFor();
      const resolved = await page.evaluate(() => window.__mock.db.lastResolution);
      assert.deepEqual(resolved.resolution, { kind: "keep_mine" });
    } finally {
      await context.close();
    }
  });
});

describe("failed items", () => {
  it("retries a rejected ticket: failed drops to 0 and the ticket is pending again", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("failed-count").filter({ hasText: "1" }).waitFor();
      await page.getByTestId("tab-failed").click();
      const row = page.getByTestId("failed-row").first();
      assert.match(await row.innerText(), /Ticket #4/);
      assert.match(await row.innerText(), /price list version 12 is unknown/);
      await row.getByTestId("retry").click();
      await page.getByTestId("failed-note").filter({ hasText: "queued again" }).waitFor();
      await page.getByTestId("failed-count").filter({ hasText: "0" }).waitFor();
      await page.getByTestId("no-failed").waitFor();
      await page.getByTestId("tab-tickets").click();
      await page.locator('[data-testid="ticket-row"][data-number="4"]').getByTestId("sync-chip").filter({ hasText: "Pending" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("discards only with a confirmation and a reason", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-failed").click();
      await page.getByTestId("discard").first().click();
      assert.equal(await page.getByTestId("confirm-discard").isDisabled(), true, "no discard without a reason");
      await page.getByTestId("discard-reason").fill("Duplicate of a ticket keyed in the back office");
      await page.getByTestId("confirm-discard").click();
      await page.getByTestId("no-failed").waitFor();
      const call = (await page.evaluate(() => window.__mock.calls)).find((c) => c.cmd === "failed_discard");
      assert.equal(call.args.reason, "Duplicate of a ticket keyed in the back office");
    } finally {
      await context.close();
    }
  });
});

describe("tickets", () => {
  it("lists today's tickets with their sync state, and voids one", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-tickets").click();
      await page.getByTestId("ticket-row").first().waitFor();
      const states = await page.getByTestId("ticket-row").getByTestId("sync-chip").allInnerTexts();
      assert.ok(states.some((s) => /Synced · BO \d+/.test(s)), "synced tickets show the server's number");
      assert.ok(states.some((s) => /Failed/.test(s)));
      await page.locator('[data-testid="ticket-row"][data-number="1"]').click();
      await page.getByTestId("void-ticket").click();
      await page.getByTestId("confirm-void").click();
      await page.locator('[data-testid="ticket-row"][data-number="5"]').filter({ hasText: "Void" }).waitFor();
      await page.locator('[data-testid="ticket-row"][data-number="1"]').filter({ hasText: "reversed" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("refunds part of a ticket", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-tickets").click();
      await page.locator('[data-testid="ticket-row"][data-number="2"]').click();
      await page.getByTestId("refund-ticket").click();
      await page.getByTestId("refund-qty").first().fill("1");
      await page.getByTestId("confirm-refund").click();
      await page.locator('[data-testid="ticket-row"][data-number="5"]').filter({ hasText: "Refund" }).waitFor();
      const call = (await page.evaluate(() => window.__mock.calls)).find((c) => c.cmd === "refund_ticket");
      assert.deepEqual(call.args.lines, [{ line_no: 1, quantity: 1 }]);
    } finally {
      await context.close();
    }
  });
});
