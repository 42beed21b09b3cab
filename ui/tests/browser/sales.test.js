// Sales beyond one payment, in real Chromium against the built UI and the fake shell: the sale in
// progress saved on every change and back after a restart, park and recall, split tender, and a
// sale refunded in parts, found by its number or its receipt's code.
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

const add = async (page, text) => {
  await page.getByTestId("product-search").fill(text);
  await page.keyboard.press("Enter");
};
const savedDrafts = (page) =>
  page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "save_current_sale").map((c) => c.args.draft));

describe("the sale in progress", () => {
  it("comes back after a restart with its lines, discount and customer", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { currentSale: { lines: [[1, 2], [6, 1]], customer_name: "Ada Lovelace" } } });
    try {
      await page.getByTestId("cart-line").nth(1).waitFor();
      assert.equal(await page.getByTestId("qty").first().inputValue(), "2");
      assert.equal(await page.getByTestId("sale-customer").innerText(), "Ada Lovelace");
      await page.getByTestId("grand-total").filter({ hasText: "£6.30" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("is saved on every change, and an empty register saves an empty cart", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await add(page, "croissant");
      await page.getByTestId("cart-line").first().waitFor();
      await page.getByTestId("qty-up").click();
      await page.waitForFunction(() => window.__mock.db.currentSale?.cart.lines[0]?.quantity === 2);
      await page.keyboard.press("F8");
      await page.getByTestId("confirm-clear").click();
      await page.waitForFunction(() => window.__mock.db.currentSale === null);
      const drafts = await savedDrafts(page);
      assert.deepEqual(drafts.map((d) => d.cart.lines.map((l) => l.quantity)), [[1], [2], []], "each change, in order");
    } finally {
      await context.close();
    }
  });
});

describe("park and recall", () => {
  it("parks the sale with a label, serves the next customer, then recalls it", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { parked: [{ label: "Blue coat", lines: [[3, 1]] }] } });
    try {
      await page.getByTestId("recall-sale").filter({ hasText: "1" }).waitFor();
      await add(page, "flat white");
      await page.getByTestId("cart-line").first().waitFor();
      await page.getByTestId("park-sale").click();
      await page.getByTestId("park-label").fill("Man in the hat");
      await page.getByTestId("confirm-park").click();
      await page.getByTestId("cart-empty").waitFor();
      await page.getByTestId("flash").filter({ hasText: "Sale parked: Man in the hat" }).waitFor();
      await page.getByTestId("recall-sale").filter({ hasText: "2" }).waitFor();

      await page.getByTestId("recall-sale").click();
      const items = page.getByTestId("parked-item");
      assert.equal(await items.count(), 2);
      assert.match(await items.nth(1).innerText(), /Man in the hat\s+1 line/);
      await items.nth(1).getByTestId("recall-this").click();
      await page.getByTestId("cart-line").filter({ hasText: "Flat white" }).waitFor();
      assert.equal(await page.getByTestId("recall-sale").innerText(), "Recall · 1");

      await page.getByTestId("recall-sale").click();
      assert.equal(await page.getByTestId("recall-this").isDisabled(), true, "a recall never replaces the sale on the register");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});

describe("split tender", () => {
  it("takes two cards and cash, showing what is left to pay as it is typed", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await add(page, "5012345679327");
      await add(page, "5012345679327");
      await page.getByTestId("grand-total").filter({ hasText: "£13.00" }).waitFor();
      await page.keyboard.press("F4");
      await page.getByTestId("method-split").click();
      await page.getByTestId("split-card-amount").fill("5");
      await page.getByTestId("split-card-approval").fill("A-1");
      await page.getByTestId("split-remaining").filter({ hasText: "£8.00" }).waitFor();
      await page.getByTestId("add-card").click();
      await page.getByTestId("split-card-amount").nth(1).fill("4.50");
      await page.getByTestId("split-card-approval").nth(1).fill("B-2");
      await page.getByTestId("split-card-last4").nth(1).fill("4242");
      await page.getByTestId("split-remaining").filter({ hasText: "£3.50" }).waitFor();
      assert.equal(await page.getByTestId("complete-sale").isDisabled(), true, "not paid yet");
      await page.getByTestId("split-cash").fill("5");
      await page.getByTestId("split-change").filter({ hasText: "£1.50" }).waitFor();
      await page.getByTestId("complete-sale").click();
      await page.getByTestId("receipt").waitFor();
      const ring = (await page.evaluate(() => window.__mock.calls)).find((c) => c.cmd === "ring_up");
      assert.deepEqual(ring.args.tenders, [
        { kind: "card", amount: 500, approval_ref: "A-1", last4: null },
        { kind: "card", amount: 450, approval_ref: "B-2", last4: "4242" },
        { kind: "cash", tendered: 500 },
      ]);
      assert.equal(await page.getByTestId("final-change").innerText(), "£1.50");
    } finally {
      await context.close();
    }
  });

  it("says so when the cards come to more than is due", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await add(page, "croissant");
      await page.getByTestId("grand-total").filter({ hasText: "£1.45" }).waitFor();
      await page.keyboard.press("F4");
      await page.getByTestId("method-split").click();
      await page.getByTestId("split-card-amount").fill("2");
      await page.getByTestId("split-card-approval").fill("A-1");
      await page.getByTestId("split-error").filter({ hasText: "exceed" }).waitFor();
    } finally {
      await context.close();
    }
  });
});

describe("refunds in parts", () => {
  it("refunds a sale twice, showing what is left per line, and finds it by number and by receipt code", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-tickets").click();
      await page.getByTestId("ticket-lookup").fill("#3");
      await page.keyboard.press("Enter");
      await page.getByTestId("receipt").filter({ hasText: /Ticket #3(?!\d)/ }).waitFor();
      await page.getByTestId("refund-ticket").click();
      assert.deepEqual(await page.getByTestId("left-qty").allInnerTexts(), ["6"]);
      await page.getByTestId("refund-qty").fill("2");
      await page.getByTestId("confirm-refund").click();
      await page.getByTestId("receipt").filter({ hasText: "REFUND" }).waitFor();

      const id = await page.evaluate(() => window.__mock.db.tickets.find((t) => t.number === 3).id);
      await page.getByTestId("ticket-lookup").fill(id);
      await page.keyboard.press("Enter");
      await page.getByTestId("receipt-code").filter({ hasText: id }).waitFor();
      await page.getByTestId("refund-ticket").click();
      assert.deepEqual(await page.getByTestId("refunded-qty").allInnerTexts(), ["2"]);
      assert.deepEqual(await page.getByTestId("left-qty").allInnerTexts(), ["4"]);
      await page.getByTestId("refund-qty").fill("4");
      await page.getByTestId("refund-reason").fill("Flat");
      await page.getByTestId("confirm-refund").click();
      await page.getByTestId("receipt").filter({ hasText: "REFUND" }).waitFor();
      await page.getByTestId("ticket-lookup").fill("3");
      await page.keyboard.press("Enter");
      await page.getByTestId("receipt").filter({ hasText: /Ticket #3(?!\d)/ }).waitFor();
      assert.equal(await page.getByTestId("refund-ticket").isDisabled(), true, "nothing left to refund");
      const refunds = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "refund_ticket");
      assert.deepEqual(refunds.map((c) => [c.args.lines, c.args.reason]), [[[{ line_no: 1, quantity: 2 }], "Customer return"], [[{ line_no: 1, quantity: 4 }], "Flat"]]);
    } finally {
      await context.close();
    }
  });

  it("says when no sale has that number", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("tab-tickets").click();
      await page.getByTestId("ticket-lookup").fill("999");
      await page.keyboard.press("Enter");
      await page.getByText("no ticket 999").waitFor();
    } finally {
      await context.close();
    }
  });
});
