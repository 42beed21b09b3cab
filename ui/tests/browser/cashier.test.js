// The register at a real cashier's speed, in real Chromium against the fake shell: every key of a
// code in one burst and Enter at once, searches answering slower than the keys come, the
// keyboard alone for a whole shift's work.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { burst, cartNames, launch, openApp, scanFromPage, serveDist } from "./harness.js";

let server, browser;
before(async () => {
  server = await serveDist();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Waits until the cart holds `n` lines and returns their names. */
async function cartOf(page, n) {
  await page.getByTestId("cart-line").nth(n - 1).waitFor();
  assert.equal(await page.getByTestId("cart-line").count(), n, `exactly ${n} lines`);
  return cartNames(page);
}

const lookups = (page) => page.evaluate(() => window.__mock.calls.filter((c) => c.cmd === "catalog_resolve").map((c) => c.args.lookup));

describe("ringing up at scanner speed", () => {
  it("adds what the field says when Enter comes before the search has answered", async () => {
    // Searches take 400 ms: the results on screen are still those of the empty field ("All",
    // AA batteries first) when Enter arrives.
    const { page, context, errors } = await openApp(browser, server.url, { seed: { searchDelayMs: 400 } });
    try {
      await page.getByTestId("product-HSH-014").waitFor();
      await burst(page, "milk");
      const [name] = await cartOf(page, 1);
      assert.notEqual(name, "AA batteries 4", "never the first result of an earlier search");
      assert.match(name, /milk/i, "a product the text finds");
      assert.equal((await lookups(page))[0].text, "milk", "Enter asked the core about exactly the text in the field");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("takes an exact name over longer names that contain it", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await burst(page, "espresso");
      assert.deepEqual(await cartOf(page, 1), ["Espresso"], "not the Double espresso listed first");
      await page.getByTestId("grand-total").filter({ hasText: "£2.20" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("moves a visible highlight with ↑/↓ in the field, and Enter takes it", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.getByTestId("product-search").fill("milk");
      // "Oat milk latte" and "Whole milk 2 l", by name.
      await page.locator('[data-testid="product-HOT-014"][data-highlighted="true"]').waitFor();
      await page.keyboard.press("ArrowDown");
      await page.locator('[data-testid="product-DAI-001"][data-highlighted="true"]').waitFor();
      assert.equal(await page.locator('[data-highlighted="true"]').count(), 1, "one highlight");
      assert.match(await page.locator(".product.hl").evaluate((el) => getComputedStyle(el).boxShadow), /rgb/, "and it can be seen");
      await page.keyboard.press("Enter");
      assert.deepEqual(await cartOf(page, 1), ["Whole milk 2 l"]);
      assert.equal((await lookups(page))[0].highlighted !== null, true, "the moved highlight went with the Enter");

      await page.getByTestId("product-search").fill("milk");
      await page.locator('[data-testid="product-HOT-014"][data-highlighted="true"]').waitFor();
      await page.keyboard.press("ArrowDown");
      assert.equal(
        await page.getByTestId("cart-line").first().evaluate((li) => li.classList.contains("selected")),
        true,
        "the arrows stayed in the results, not the cart",
      );
      await page.keyboard.press("ArrowUp");
      await page.keyboard.press("Enter");
      assert.deepEqual(await cartOf(page, 2), ["Whole milk 2 l", "Oat milk latte"]);
    } finally {
      await context.close();
    }
  });

  it("finds a SKU typed in one burst, and says which code a scan did not find, with a beep", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await burst(page, "PAN-010");
      assert.deepEqual(await cartOf(page, 1), ["Baked beans 415g"]);
      assert.equal(await page.getByTestId("flash").evaluate((el) => el.classList.contains("bad")), false, "no error for a valid SKU");
      await burst(page, "5012345679020");
      assert.deepEqual(await cartOf(page, 2), ["Baked beans 415g", "Flat white"], "a barcode in one burst");

      await page.getByTestId("product-search").blur();
      await scanFromPage(page, "PAN-011");
      assert.deepEqual(await cartOf(page, 3), ["Baked beans 415g", "Flat white", "Chickpeas 400g"], "a scan with no field focused");
      await scanFromPage(page, "ZZZ-999");
      const flash = page.getByTestId("flash").filter({ hasText: "Unknown code ZZZ-999" });
      await flash.waitFor();
      assert.equal(await flash.getAttribute("data-beeped"), "true", "a scan that finds nothing beeps");
      assert.equal(await page.getByTestId("cart-line").count(), 3, "and adds nothing");
    } finally {
      await context.close();
    }
  });

  it("keeps two scans in the order they came", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { searchDelayMs: 300 } });
    try {
      await burst(page, "5012345679501");
      await burst(page, "PAN-010");
      await burst(page, "5012345678917");
      assert.deepEqual(await cartOf(page, 3), ["Espresso", "Baked beans 415g", "Butter croissant"]);
    } finally {
      await context.close();
    }
  });

  it("shows every product under All with the count, Espresso and Whole milk among the tiles", async () => {
    const { page, context } = await openApp(browser, server.url, { seed: { bigCatalog: true } });
    try {
      const total = await page.evaluate(() => window.__mock.products.length);
      await page.getByTestId("result-count").filter({ hasText: `${total} products` }).waitFor();
      assert.ok(total > 150, `a shop-sized catalog: ${total}`);
      assert.equal(await page.locator('[data-testid^="product-"]:not([data-testid="product-search"])').count(), total, "a tile for each");
      for (const sku of ["HOT-001", "DAI-001", "GEN-130"]) {
        const tile = page.getByTestId(`product-${sku}`);
        await tile.scrollIntoViewIfNeeded();
        await tile.click();
      }
      assert.deepEqual(await cartOf(page, 3), ["Espresso", "Whole milk 2 l", "Pantry item 130"]);
    } finally {
      await context.close();
    }
  });

  it("replaces a quantity typed into a clicked quantity box", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await burst(page, "BAK-001");
      await cartOf(page, 1);
      await page.getByTestId("qty").click();
      await page.keyboard.type("2");
      await page.keyboard.press("Enter");
      await page.getByTestId("grand-total").filter({ hasText: "£7.90" }).waitFor();
      assert.equal(await page.getByTestId("qty").inputValue(), "2", "2, not 12");
    } finally {
      await context.close();
    }
  });
});

describe("paying", () => {
  it("completes with Enter after a quick amount, and takes the exact amount from an empty field", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await burst(page, "DRK-003");
      await page.getByTestId("grand-total").filter({ hasText: "£3.40" }).waitFor();
      await page.keyboard.press("F4");
      await page.getByTestId("quick-cash").nth(1).click();
      await page.keyboard.press("Enter");
      await page.getByTestId("final-change").filter({ hasText: "£1.60" }).waitFor();
      await page.keyboard.press("Escape");
      await page.getByTestId("cart-empty").waitFor();

      await burst(page, "DRK-003");
      await page.getByTestId("grand-total").filter({ hasText: "£3.40" }).waitFor();
      await page.keyboard.press("F4");
      await page.getByTestId("amount-due").waitFor();
      await page.keyboard.press("Enter");
      await page.getByTestId("receipt").waitFor();
      const tenders = (await page.evaluate(() => window.__mock.calls)).filter((c) => c.cmd === "ring_up").map((c) => c.args.tenders);
      assert.deepEqual(tenders, [[{ kind: "cash", tendered: 500 }], [{ kind: "cash", tendered: 340 }]], "£5 quick cash, then the exact £3.40");
    } finally {
      await context.close();
    }
  });

  it("says in money, never minor units, that the cash does not cover the total", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await burst(page, "DRK-003");
      await page.getByTestId("grand-total").filter({ hasText: "£3.40" }).waitFor();
      await page.keyboard.press("F4");
      await page.getByTestId("cash-tendered").fill("3");
      await page.getByTestId("change-error").filter({ hasText: "£3.00 does not cover £3.40" }).waitFor();
      assert.equal(await page.getByTestId("complete-sale").isDisabled(), true);
    } finally {
      await context.close();
    }
  });
});

describe("a shift by keyboard", () => {
  it("+, − and Delete act on the selected line while the empty search field has the focus", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await burst(page, "BAK-001");
      await burst(page, "BAK-002");
      await cartOf(page, 2);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "product-search");
      await page.keyboard.press("+");
      await page.keyboard.press("+");
      const qtyOf = (sku) => page.locator(`[data-testid="cart-line"][data-sku="${sku}"] [data-testid="qty"]`).inputValue();
      await page.waitForFunction(() => document.querySelector('[data-sku="BAK-002"] [data-testid="qty"]')?.value === "3");
      await page.keyboard.press("ArrowUp");
      await page.keyboard.press("-");
      assert.deepEqual(await cartOf(page, 1), ["Butter croissant"], "− on the sourdough, a line of one, removes it");
      assert.equal(await qtyOf("BAK-002"), "3");
      await page.keyboard.press("Delete");
      await page.getByTestId("cart-empty").waitFor();
      assert.equal(await page.getByTestId("product-search").inputValue(), "", "none of those keys was typed into the field");
      await page.keyboard.type("PAN-0");
      assert.equal(await page.getByTestId("product-search").inputValue(), "PAN-0", "a dash in a SKU is text");
    } finally {
      await context.close();
    }
  });

  it("shows the shortcuts on ? and F1, and keeps Tab inside an open dialog", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.keyboard.press("?");
      await page.getByTestId("shortcut-help").filter({ hasText: "Search / scan" }).waitFor();
      await page.keyboard.press("Escape");
      await page.getByTestId("shortcut-help").waitFor({ state: "detached" });
      await page.keyboard.press("F1");
      await page.getByTestId("shortcut-help").waitFor();
      await page.keyboard.press("Escape");

      await burst(page, "BAK-001");
      await cartOf(page, 1);
      await page.keyboard.press("F4");
      await page.getByTestId("cash-tendered").waitFor();
      for (let i = 0; i < 14; i++) {
        await page.keyboard.press(i % 3 === 2 ? "Shift+Tab" : "Tab");
        assert.equal(await page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]')), true, `Tab ${i + 1} stays in the dialog`);
      }
    } finally {
      await context.close();
    }
  });

  it("reaches a ticket and refunds it without the mouse", async () => {
    const { page, context } = await openApp(browser, server.url);
    try {
      await page.keyboard.press("Alt+2");
      await page.getByTestId("ticket-row").first().waitFor();
      await page.keyboard.press("ArrowDown");
      await page.keyboard.press("ArrowDown");
      await page.locator('[data-testid="ticket-row"][data-number="3"].selected').waitFor();
      let tabs = 0;
      while ((await page.evaluate(() => document.activeElement?.dataset.testid)) !== "refund-ticket") {
        assert.ok(++tabs < 20, "Refund is reachable with Tab");
        await page.keyboard.press("Tab");
      }
      await page.keyboard.press("Enter");
      await page.getByTestId("refund-qty").first().waitFor();
      await page.keyboard.type("1");
      await page.keyboard.press("Enter");
      await page.locator('[data-testid="ticket-row"][data-number="5"]').filter({ hasText: "Refund" }).waitFor();
      await page.getByTestId("ticket-counts").filter({ hasText: "5 tickets: 4 sales, 1 reversal" }).waitFor();
    } finally {
      await context.close();
    }
  });
});
