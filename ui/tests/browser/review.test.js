// Conflict review, failed items, tickets and the customer editor in real Chromium against the
// fake shell.
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
      assert.equal(await page.getByTestId("preview-email").innerText(), "a.turing@bletchley.example", "the newer edit, the back office's, by default");
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

describe("conflict review, in a manager's words", () => {
  it("offers only the fields this till changed, takes the back office's own changes, and waits for a pick", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { moreConflicts: true } });
    try {
      await page.getByTestId("tab-conflicts").click();
      await page.getByTestId("conflict-item").filter({ hasText: "Ada Lovelace" }).click();
      await page.getByTestId("conflict-title").filter({ hasText: "Ada Lovelace" }).waitFor();
      const screen = await page.locator(".review").innerText();
      assert.doesNotMatch(screen, /stale|policy|field.merge|version \d/i, `no jargon: ${screen}`);
      assert.match(await page.getByTestId("conflict-reason").innerText(), /back office changed it before this till's edit/);

      const phone = page.locator('[data-testid="field-row"][data-field="phone"]');
      assert.equal(await phone.getAttribute("data-choice"), "false", "this till never changed the phone");
      assert.equal(await phone.getByRole("button").count(), 0, "so it is not offered as a choice");
      assert.equal(await page.getByTestId("preview-phone").innerText(), "+44 20 7946 0555", "the back office's change is taken");

      assert.equal(await page.getByTestId("preview-email").innerText(), "Pick a value", "no silent default for the till's own edit");
      assert.equal(await page.getByTestId("resolve").isDisabled(), true, "Resolve waits for the pick");
      assert.match(await page.getByTestId("pick-needed").innerText(), /email/);
      await page.locator('[data-testid="field-row"][data-field="email"]').getByTestId("pick-mine").click();
      await page.getByTestId("resolve").click();
      await page.getByTestId("resolved-note").waitFor();
      const resolved = await page.evaluate(() => window.__mock.db.lastResolution);
      assert.deepEqual(resolved.resolution, { kind: "fields", picks: { email: "mine", phone: "theirs" } });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("shows when each side's edit was made, and marks the newer", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-conflicts").click();
      await page.getByTestId("conflict-item").first().click();
      assert.match(await page.getByTestId("mine-at").innerText(), /edited/);
      assert.match(await page.getByTestId("theirs-at").innerText(), /edited/);
      const email = page.locator('[data-testid="field-row"][data-field="email"]');
      assert.match(await email.getByTestId("pick-theirs").innerText(), /newer/);
    } finally {
      await context.close();
    }
  });

  it("settles a disputed reversal: the refund stands, or the cash came back with why", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { conflicts: false, disputed: true } });
    try {
      await page.getByTestId("tab-conflicts").click();
      await page.getByTestId("conflict-item").first().click();
      assert.equal(await page.getByTestId("conflict-title").innerText(), "Ticket #12");
      assert.match(await page.getByTestId("conflict-reason").innerText(), /already voided or refunded elsewhere/);
      assert.equal(await page.getByTestId("resolve").count(), 0, "no Resolve that would drop counted money");
      assert.equal(await page.getByTestId("keep-theirs").count(), 0);
      const cameBack = page.getByTestId("settle-cash-came-back");
      assert.equal(await cameBack.isDisabled(), true, "the cash came back only with why");
      await page.getByTestId("settle-why").fill("   ");
      assert.equal(await cameBack.isDisabled(), true, "a blank reason is no reason");
      await page.getByTestId("settle-why").fill("the customer brought the cash back");
      await cameBack.click();
      await page.getByTestId("resolved-note").filter({ hasText: "Ticket #12" }).waitFor();
      const resolved = await page.evaluate(() => window.__mock.db.lastResolution);
      assert.deepEqual(resolved.resolution, { kind: "cash_came_back", why: "the customer brought the cash back" });
      await page.getByTestId("no-conflicts").waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
    const again = await openApp(browser, server.url, { seed: { conflicts: false, disputed: true } });
    try {
      await again.page.getByTestId("tab-conflicts").click();
      await again.page.getByTestId("conflict-item").first().click();
      await again.page.getByTestId("settle-refund-stands").click();
      await again.page.getByTestId("resolved-note").waitFor();
      const resolved = await again.page.evaluate(() => window.__mock.db.lastResolution);
      assert.deepEqual(resolved.resolution, { kind: "refund_stands" });
    } finally {
      await again.context.close();
    }
  });

  it("lists a customer in conflict as in conflict, not as pending", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-customers").click();
      const alan = page.getByTestId("customer-row").filter({ hasText: "Alan Turing" });
      await alan.getByTestId("sync-chip").filter({ hasText: "In conflict" }).waitFor();
      assert.equal(await alan.getByTestId("sync-chip").getAttribute("data-state"), "conflict");
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

describe("customer editor", () => {
  it("adds and removes tags as chips, moves or sets the points, and saves them", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-customers").click();
      await page.getByTestId("customer-row").filter({ hasText: "Ada Lovelace" }).click();
      const chips = page.getByTestId("cust-tag");
      await chips.filter({ hasText: "vip" }).waitFor();
      await page.getByTestId("cust-new-tag").fill("  Wholesale ");
      await page.getByTestId("cust-new-tag").press("Enter");
      await chips.filter({ hasText: "wholesale" }).waitFor();
      await chips.filter({ hasText: "vip" }).getByTestId("remove-tag").click();
      assert.equal(await chips.count(), 1, "vip is removed, wholesale added");

      assert.equal(await page.getByTestId("cust-points").inputValue(), "120");
      await page.getByTestId("cust-points-by").fill("10");
      await page.getByTestId("points-add").click();
      assert.equal(await page.getByTestId("cust-points").inputValue(), "130", "+10");
      await page.getByTestId("points-sub").click();
      await page.getByTestId("points-sub").click();
      assert.equal(await page.getByTestId("cust-points").inputValue(), "110", "−10 twice");

      await page.getByTestId("save-customer").click();
      await page.getByTestId("customer-note").waitFor();
      const ada = await page.evaluate(() => window.__mock.db.customers.find((c) => c.name === "Ada Lovelace"));
      assert.deepEqual(ada.tags, ["wholesale"]);
      assert.equal(ada.loyalty_points, 110);
      assert.deepEqual(errors, [], "no script errors or CSP violations");
    } finally {
      await context.close();
    }
  });

  it("says an empty points box is no number, and saves nothing", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-customers").click();
      await page.getByTestId("customer-row").filter({ hasText: "Ada Lovelace" }).click();
      await page.getByTestId("cust-points").fill("");
      await page.getByTestId("save-customer").click();
      await page.getByRole("alert").filter({ hasText: "loyalty points are a whole number" }).waitFor();
      const ada = await page.evaluate(() => window.__mock.db.customers.find((c) => c.name === "Ada Lovelace"));
      assert.equal(ada.loyalty_points, 120, "nothing was saved");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
