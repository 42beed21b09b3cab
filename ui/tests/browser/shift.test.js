// The shift on a till with employees, in real Chromium against the built UI and the fake shell:
// a sale without an open shift prompts to open one; open with a float, cash in and out, no sale
// with a manager's approval, the X report, closing with the drawer counted note by note, the Z
// report with every figure, and the closed shifts with where each stands with the back office.
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

/** Opens the app on a till with employees, Sam (a cashier) signed in. */
async function openTill(seed = {}) {
  const opened = await openApp(browser, server.url, { seed: { employees: true, signedIn: "1234", ...seed } });
  await opened.page.getByTestId("signed-in").waitFor();
  return opened;
}

const text = (page, id) => page.getByTestId(id).innerText();

describe("shift", () => {
  it("a sale without an open shift prompts to open one", async () => {
    const { page, context } = await openTill();
    try {
      await page.getByTestId("product-search").fill("croissant");
      await page.keyboard.press("Enter");
      await page.getByTestId("cart-line").first().waitFor();
      await page.keyboard.press("F4");
      await page.getByTestId("complete-sale").click();
      await page.getByTestId("pay-error").filter({ hasText: "No shift is open" }).waitFor();
      await page.getByTestId("go-open-shift").click();
      await page.getByTestId("shift-float").waitFor();
      assert.equal(await page.getByTestId("tab-shift").getAttribute("aria-current"), "page");
    } finally {
      await context.close();
    }
  });

  it("opens, moves cash, opens the drawer with approval, and closes with a counted Z report", async () => {
    const { page, context, errors } = await openTill();
    try {
      await page.getByTestId("tab-shift").click();
      await page.getByTestId("shift-float").fill("100");
      await page.getByTestId("open-shift").click();
      await page.getByTestId("shift-state").filter({ hasText: "Open · Z 3 · Sam" }).waitFor();
      assert.match(await text(page, "z-float"), /Float\s+£100\.00/);

      await page.getByTestId("cash-in").click();
      await page.getByTestId("cash-amount").fill("20");
      await page.getByTestId("cash-reason").fill("Change from the bank");
      await page.getByTestId("confirm-cash").click();
      await page.getByTestId("z-cash_in").filter({ hasText: "£20.00" }).waitFor();
      await page.getByTestId("cash-out").click();
      await page.getByTestId("cash-amount").fill("5");
      await page.getByTestId("cash-reason").fill("Window cleaner");
      await page.keyboard.press("Enter");
      await page.getByTestId("z-cash_out").filter({ hasText: "£5.00" }).waitFor();
      await page.getByTestId("z-expected_cash").filter({ hasText: "£115.00" }).waitFor();

      await page.getByTestId("no-sale").click();
      await page.getByTestId("no-sale-reason").fill("Customer needed change for parking");
      await page.getByTestId("confirm-no-sale").click();
      await page.getByTestId("approval-dialog").filter({ hasText: "Open the drawer (no sale)" }).waitFor();
      await page.keyboard.type("9999", { delay: 30 });
      await page.keyboard.press("Enter");
      await page.getByTestId("shift-note").filter({ hasText: "no sale" }).waitFor();

      await page.getByTestId("close-shift").click();
      await page.getByTestId("count-5000").fill("2");
      await page.getByTestId("count-1000").fill("1");
      await page.getByTestId("count-200").fill("2");
      await page.getByTestId("counted-total").filter({ hasText: "£114.00" }).waitFor();
      assert.equal(await text(page, "expected-cash"), "£115.00");
      await page.getByTestId("confirm-close").click();

      const z = page.getByTestId("z-report");
      await z.waitFor();
      for (const id of ["float", "tickets", "sales", "reversals", "cash_sales", "cash_refunds", "cash_in", "cash_out", "expected_cash", "counted_cash", "difference"]) {
        assert.equal(await page.getByTestId(`z-${id}`).count(), 1, `the Z report shows ${id}`);
      }
      assert.match(await text(page, "z-difference"), /−£1\.00|-£1\.00/);
      assert.equal(await page.getByTestId("z-reconciliation").getAttribute("data-state"), "pending");
      assert.match(await z.innerText(), /Z report · Z 3/);
      await page.emulateMedia({ media: "print" });
      assert.equal(await z.isVisible(), true, "the Z report prints");
      await page.emulateMedia({ media: "screen" });
      await page.getByTestId("close-z").click();
      await page.getByTestId("shift-state").filter({ hasText: "No shift open" }).waitFor();
      assert.deepEqual(await page.getByTestId("closed-shift").evaluateAll((rows) => rows.map((r) => [r.dataset.z, r.dataset.state])), [
        ["3", "pending"], ["2", "mismatch"], ["1", "matched"],
      ]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("shows what differs for a closed shift the back office disagrees with", async () => {
    const { page, context } = await openTill();
    try {
      await page.getByTestId("tab-shift").click();
      await page.getByTestId("closed-shift").filter({ hasText: "Mismatch" }).click();
      const footer = page.getByTestId("z-reconciliation");
      await footer.waitFor();
      const words = await footer.innerText();
      assert.match(words, /Differs from the back office/);
      assert.match(words, /Not in the back office: #812/);
      assert.match(words, /Card \(net\): £367\.50 here, £355\.00 in the back office/);
    } finally {
      await context.close();
    }
  });
});
