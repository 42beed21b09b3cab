// Employees at the till, in real Chromium against the built UI and the fake shell: the PIN pad,
// the lock-out, locking and switching user with the sale kept, the idle lock, and a manager's
// approval for a void, a refund, a big discount and discarding a failed item.
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

/** Opens the app on a till with employees; the PIN pad shows first unless `signedIn`. */
async function openTill(seed = {}, fixedTime) {
  const opened = await openApp(browser, server.url, { seed: { employees: true, ...seed }, fixedTime });
  await opened.page.getByTestId(seed.signedIn ? "signed-in" : "lock-screen").waitFor();
  return opened;
}

const typePin = async (page, pin) => {
  await page.keyboard.type(pin, { delay: 30 });
  await page.keyboard.press("Enter");
};

describe("PIN pad", () => {
  it("opens on the PIN pad, takes a PIN by keyboard as dots, and names who signed in", async () => {
    // At 12:12 the lock screen's clock shows the digits typed; they must show nowhere else.
    const { page, context, errors } = await openTill({}, new Date("2026-11-30T12:12:00Z"));
    try {
      assert.match(await page.locator("[data-testid=lock-screen] .clock").innerText(), /12:12/);
      assert.equal(await page.getByTestId("product-search").count(), 0, "nothing of the register shows while locked");
      await page.keyboard.type("12", { delay: 30 });
      assert.equal(await page.getByTestId("pin-dots").getAttribute("data-count"), "2", "each digit is a dot");
      const shown = await page
        .getByTestId("lock-screen")
        .evaluate((el) => el.innerText.replace(el.querySelector(".clock")?.innerText ?? "", ""));
      assert.doesNotMatch(shown, /12/, "the digits never show (the clock aside, which may read 12:xx)");
      await page.keyboard.press("Backspace");
      assert.equal(await page.getByTestId("pin-dots").getAttribute("data-count"), "1");
      await page.keyboard.type("234", { delay: 30 });
      await page.keyboard.press("Enter");
      await page.getByTestId("signed-in").filter({ hasText: "Sam" }).waitFor();
      await page.getByTestId("product-search").waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("takes a PIN by touch, says so on a wrong one, and counts the lock-out down", async () => {
    const { page, context } = await openTill();
    try {
      for (const d of "5555") await page.getByTestId(`pin-key-${d}`).click();
      await page.getByTestId("pin-key-enter").click();
      assert.equal(await page.getByTestId("pin-error").innerText(), "wrong PIN");
      assert.equal(await page.getByTestId("pin-dots").getAttribute("data-count"), "0", "the dots clear for the next try");
      for (let i = 0; i < 4; i++) await typePin(page, "0000");
      const locked = page.getByTestId("pin-locked");
      await locked.waitFor();
      const first = Number((await locked.locator("strong").innerText()).trim());
      assert.ok(first > 55 && first <= 60, `a minute's lock-out: ${first}`);
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid="pin-locked"] strong')?.textContent) < n, first, { timeout: 4000 });
      assert.equal(await page.getByTestId("pin-key-1").isDisabled(), true, "no PIN is taken while locked out");
    } finally {
      await context.close();
    }
  });

  it("locks with the button and F12 keeping the sale, and another employee takes it over", async () => {
    const { page, context } = await openTill({ signedIn: "1234" });
    try {
      await page.getByTestId("product-search").fill("croissant");
      await page.keyboard.press("Enter");
      await page.getByTestId("cart-line").first().waitFor();
      await page.getByTestId("lock").click();
      await page.getByTestId("lock-screen").waitFor();
      await typePin(page, "9999");
      await page.getByTestId("signed-in").filter({ hasText: "Maria" }).waitFor();
      assert.equal(await page.getByTestId("cart-line").count(), 1, "the sale in progress waits for whoever signs in");
      await page.keyboard.press("F12");
      await page.getByTestId("lock-screen").waitFor();
      const locks = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "lock");
      assert.equal(locks.length, 2, "the shell is told each time");
    } finally {
      await context.close();
    }
  });

  it("locks by itself after the idle time set in Settings", async () => {
    const { page, context } = await openTill({ signedIn: "1234", settings: { lock_after_idle_seconds: 2 } });
    try {
      await page.getByTestId("lock-screen").waitFor({ timeout: 6000 });
    } finally {
      await context.close();
    }
  });

  it("never shows the PIN pad on a till without employees", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("product-search").waitFor();
      assert.equal(await page.getByTestId("lock-screen").count(), 0);
      assert.equal(await page.getByTestId("lock").count(), 0, "nothing to lock");
    } finally {
      await context.close();
    }
  });
});

describe("manager approval", () => {
  it("asks a manager's PIN to void, shows the action and reason, refuses a cashier's, then voids", async () => {
    const { page, context, errors } = await openTill({ signedIn: "1234" });
    try {
      await page.getByTestId("tab-tickets").click();
      await page.getByTestId("ticket-row").filter({ hasText: "Sale" }).first().click();
      await page.getByTestId("void-ticket").click();
      await page.getByTestId("void-reason").fill("Customer changed their mind");
      await page.getByTestId("confirm-void").click();
      const dialog = page.getByTestId("approval-dialog");
      await dialog.waitFor();
      assert.equal(await dialog.getAttribute("data-action"), "void");
      assert.equal(await page.getByTestId("approval-action").innerText(), "Void a sale");
      assert.equal(await page.getByTestId("approval-reason").innerText(), "Reason: Customer changed their mind");
      await typePin(page, "1234");
      await page.getByTestId("pin-error").filter({ hasText: "Sam is not a manager" }).waitFor();
      await typePin(page, "9999");
      await dialog.waitFor({ state: "detached" });
      await page.getByTestId("receipt").filter({ hasText: "VOID" }).waitFor();
      const approvals = await page.evaluate(() => window.__mock.db.approvals);
      assert.deepEqual(approvals.map((a) => [a.action, a.by.name, a.reason]), [["void", "Maria", "Customer changed their mind"]]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("a cancelled approval changes nothing", async () => {
    const { page, context } = await openTill({ signedIn: "1234" });
    try {
      await page.getByTestId("tab-failed").click();
      await page.getByTestId("discard").first().click();
      await page.getByTestId("discard-reason").fill("Sold at the old price by mistake");
      await page.getByTestId("confirm-discard").click();
      await page.getByTestId("approval-dialog").waitFor();
      assert.equal(await page.getByTestId("approval-action").innerText(), "Discard a failed item");
      await page.keyboard.press("Escape");
      await page.getByTestId("approval-dialog").waitFor({ state: "detached" });
      assert.equal(await page.getByTestId("failed-row").count(), 1, "still on the failed list");
      await page.getByTestId("discard").first().click();
      await page.getByTestId("discard-reason").fill("Sold at the old price by mistake");
      await page.getByTestId("confirm-discard").click();
      await typePin(page, "9999");
      await page.getByTestId("failed-note").filter({ hasText: "discarded" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("a discount above the limit takes a manager's PIN at payment", async () => {
    const { page, context } = await openTill({ signedIn: "1234", openShift: true });
    try {
      await page.getByTestId("product-search").fill("croissant");
      await page.keyboard.press("Enter");
      await page.getByTestId("cart-line").first().waitFor();
      await page.keyboard.press("F3");
      await page.getByTestId("disc-value").fill("50");
      await page.getByTestId("disc-apply").click();
      await page.keyboard.press("F4");
      await page.getByTestId("complete-sale").click();
      await page.getByTestId("approval-dialog").filter({ hasText: "Discount above the limit" }).waitFor();
      await typePin(page, "9999");
      await page.getByTestId("receipt").waitFor();
    } finally {
      await context.close();
    }
  });

  it("a line's price changed in the register takes a manager's PIN at payment, the dialog naming it", async () => {
    const { page, context, errors } = await openTill({ signedIn: "1234", openShift: true });
    try {
      await page.getByTestId("product-search").fill("croissant");
      await page.keyboard.press("Enter");
      await page.getByTestId("cart-line").first().waitFor();
      const before = await page.getByTestId("line-total").innerText();
      await page.getByTestId("line-price-btn").click();
      await page.getByTestId("price-value").fill("1.00");
      await page.getByTestId("price-apply").click();
      await page.getByTestId("line-price-override").waitFor();
      await page.getByTestId("line-total").filter({ hasText: "£1.00" }).waitFor();
      assert.notEqual(before, "£1.00");
      await page.keyboard.press("F4");
      await page.getByTestId("complete-sale").click();
      const dialog = page.getByTestId("approval-dialog");
      await dialog.waitFor();
      assert.equal(await dialog.getAttribute("data-action"), "price_override");
      assert.equal(await page.getByTestId("approval-action").innerText(), "Price override");
      assert.match(await page.getByTestId("approval-reason").innerText(), /line 1 \(Butter croissant\) at £1\.00 instead of £1\.45/);
      await typePin(page, "9999");
      await page.getByTestId("receipt").waitFor();
      const cart = await page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "ring_up").at(-1).args.cart);
      assert.equal(cart.lines[0].unit_price, 100, "the register sends the price as CartLine.unit_price");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
