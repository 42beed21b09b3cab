// The register flow in real Chromium against the built UI, the shell replaced by the fake backend.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { launch, openApp, scanFromPage, serveDist } from "./harness.js";

let server, browser;
before(async () => {
  server = await serveDist();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const text = (page, id) => page.getByTestId(id).innerText();

describe("register", () => {
  it("rings up a sale: scan, search, quantity, cash with a quick amount, receipt; pending rises by one", async () => {
    const { page, context, errors } = await openApp(browser, server.url);
    try {
      const pendingBefore = Number((await text(page, "pending-count")).match(/\d+/)[0]);

      // A keyboard-wedge scanner: the whole code within milliseconds, then Enter, no field focused.
      // The keys are sent from inside the page so the machine's load cannot stretch the gaps.
      await page.getByTestId("product-search").blur();
      await scanFromPage(page, "5012345678917");
      await page.getByTestId("cart-line").first().waitFor();
      assert.equal(await page.getByTestId("cart-line").first().getAttribute("data-sku"), "BAK-002", "the scanned croissant is in the cart");

      await page.getByTestId("product-search").fill("flat");
      await page.getByTestId("product-DRK-003").click();
      await page.getByTestId("qty-up").nth(1).click();
      await page.getByTestId("grand-total").filter({ hasText: "£8.25" }).waitFor();
      assert.equal(await page.getByTestId("cart-line").count(), 2);
      assert.equal(await page.getByTestId("qty").nth(1).inputValue(), "2");
      assert.match(await page.getByTestId("totals").innerText(), /Tax 20%/, "the tax breakdown comes from the quote");

      await page.keyboard.press("F4");
      await page.getByTestId("amount-due").filter({ hasText: "£8.25" }).waitFor();
      const quick = page.getByTestId("quick-cash");
      assert.deepEqual(await quick.allInnerTexts(), ["£8.25", "£10.00", "£20.00", "£50.00"], "quick amounts are the core's suggestions");
      await quick.nth(1).click();
      await page.getByTestId("change-due").filter({ hasText: "£1.75" }).waitFor();
      await page.getByTestId("complete-sale").click();

      await page.getByTestId("receipt").waitFor();
      assert.equal(await text(page, "receipt-total"), "£8.25");
      assert.equal(await text(page, "final-change"), "£1.75");
      await page.getByTestId("pending-count").filter({ hasText: String(pendingBefore + 1) }).waitFor();

      await page.emulateMedia({ media: "print" });
      assert.equal(await page.getByTestId("receipt").isVisible(), true, "the receipt prints");
      assert.equal(await page.getByTestId("status-bar").isVisible(), false, "the till's chrome does not print");
      assert.equal(await page.getByTestId("new-sale").isVisible(), false, "nor do the dialog's buttons");
      await page.emulateMedia({ media: "screen" });

      await page.getByTestId("new-sale").click();
      await page.getByTestId("cart-empty").waitFor();
      assert.deepEqual(errors, [], "no script errors under the CSP and a frozen Object.prototype");
    } finally {
      await context.close();
    }
  });

  it("does not take slow typing outside a field for a scan", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("product-search").blur();
      await page.keyboard.type("5012345678917", { delay: 90 });
      await page.keyboard.press("Enter");
      await page.waitForTimeout(300);
      assert.equal(await page.getByTestId("cart-line").count(), 0);
    } finally {
      await context.close();
    }
  });

  it("says so when a scanned barcode is unknown, and keeps the cart as it was", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("product-search").fill("4006381333931");
      await page.keyboard.press("Enter");
      await page.getByTestId("flash").filter({ hasText: "Unknown barcode 4006381333931" }).waitFor();
      assert.equal(await page.getByTestId("cart-line").count(), 0);
    } finally {
      await context.close();
    }
  });

  it("applies line and ticket discounts, attaches a customer and pays by card with an approval reference", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("cat-Household").click();
      await page.getByTestId("product-HOU-003").click();
      await page.getByTestId("line-discount-btn").click();
      await page.getByTestId("disc-value").fill("10");
      await page.getByTestId("disc-apply").click();
      await page.getByTestId("grand-total").filter({ hasText: "£5.85" }).waitFor();
      await page.keyboard.press("F3");
      await page.getByTestId("disc-amount").click();
      await page.getByTestId("disc-value").fill("0.85");
      await page.keyboard.press("Enter");
      await page.getByTestId("grand-total").filter({ hasText: "£5.00" }).waitFor();
      assert.equal(await text(page, "discount-total"), "−£1.50");

      await page.getByTestId("add-customer").click();
      await page.getByTestId("picker-search").fill("grace");
      await page.getByTestId("picker-row").filter({ hasText: "Grace Hopper" }).click();
      await page.getByTestId("sale-customer").filter({ hasText: "Grace Hopper" }).waitFor();

      await page.getByTestId("pay").click();
      await page.getByTestId("method-card").click();
      assert.equal(await page.getByTestId("complete-sale").isDisabled(), true, "a card sale needs the approval reference");
      await page.getByTestId("card-approval").fill("A1B2C3");
      await page.getByTestId("card-last4").fill("42");
      assert.equal(await page.getByTestId("complete-sale").isDisabled(), true, "last four must be four digits");
      await page.getByTestId("card-last4").fill("4242");
      await page.getByTestId("complete-sale").click();
      await page.getByTestId("receipt").filter({ hasText: "Card ****4242" }).waitFor();
      const ringUp = (await page.evaluate(() => window.__mock.calls)).find((c) => c.cmd === "ring_up");
      assert.deepEqual(ringUp.args.tenders, [{ kind: "card", amount: 500, approval_ref: "A1B2C3", last4: "4242" }]);
      assert.deepEqual(ringUp.args.cart.lines[0].discount, { kind: "percent", bp: 1000 });
      assert.deepEqual(ringUp.args.cart.ticket_discount, { kind: "amount", minor: 85 });
      const grace = await page.evaluate(() => window.__mock.db.customers.find((c) => c.name === "Grace Hopper").id);
      assert.equal(ringUp.args.cart.customer_id, grace, "the sale carries the chosen customer");
    } finally {
      await context.close();
    }
  });
});
