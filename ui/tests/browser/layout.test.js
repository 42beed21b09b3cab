// Nothing is clipped at the smallest window the app allows (1024×700) nor at its default size
// (1280×800): the status bar never overflows and Sync now is whole in every state (the printer
// offline too), every category key is on screen, the cart shows many lines, the ticket actions
// are above the fold, a damaged store's banner leaves the register whole, and the PIN pad, approvals, split tender, parked
// sales, the shift's screens and the question before closing fit.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { burst, launch, openApp, sellOne, serveDist } from "./harness.js";

let server, browser;
before(async () => {
  server = await serveDist();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const SIZES = [
  { width: 1024, height: 700 },
  { width: 1280, height: 800 },
];

const LONG_ERROR = "cannot reach the server: error sending request for url (http://backoffice.corner-shop.example:8787/v1/push): client error (Connect): tcp connect error: Connection refused (os error 111)";

/** The printer when nothing waits, and when it is offline with receipts waiting. */
const NO_PRINTER = { target: "none", state: "none", queued: 0 };
const PRINTER_OFFLINE = { target: "tcp://receipt-printer.corner-shop.example:9100", state: "offline", queued: 12345 };

/** Status snapshots the bar must fit at any size (with the printer's status, when it says something). */
const STATES = {
  offline: { state: "offline", online: false, pending: 37, last_error: null },
  error: {
    state: "backing_off", online: false, pending: 12345, failed: 12, conflicts: 3, next_retry_at_ms: Date.now() + 20_000,
    clock_offset_ms: 420_000, last_error: { code: "server_unreachable", message: LONG_ERROR },
  },
  syncing: {
    state: "syncing", online: true, pending: 98_765, failed: 0, conflicts: 0, last_error: null,
    progress: { done: 12_345, total: 98_765 }, eta_secs: 4_321, throughput_per_s: 812.4,
  },
  conflicts: { state: "idle", online: true, pending: 1_234, failed: 123, conflicts: 45, last_error: null },
  printerOffline: {
    state: "backing_off", online: false, pending: 12345, failed: 12, conflicts: 3, next_retry_at_ms: Date.now() + 20_000,
    clock_offset_ms: 420_000, last_error: { code: "server_unreachable", message: LONG_ERROR }, printer: PRINTER_OFFLINE,
  },
};

/** Elements with a test hook that stick out of the window, outside any scrolling list. */
function clipped(page) {
  return page.evaluate(() => {
    const scrolls = (el) => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        const o = getComputedStyle(a).overflowY;
        if ((o === "auto" || o === "scroll") && a.scrollHeight > a.clientHeight) return true;
      }
      return false;
    };
    const out = [];
    for (const el of document.querySelectorAll("[data-testid]")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (scrolls(el)) continue;
      if (r.left < -1 || r.top < -1 || r.right > innerWidth + 1 || r.bottom > innerHeight + 1) out.push(el.dataset.testid);
    }
    return out;
  });
}

async function assertStatusBarFits(page, what) {
  const fit = await page.evaluate(() => {
    const bar = document.querySelector('[data-testid="status-bar"]');
    const b = document.querySelector('[data-testid="sync-now"]').getBoundingClientRect();
    return {
      overflow: bar.scrollWidth - bar.clientWidth,
      button: { left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width },
      window: { width: innerWidth, height: innerHeight },
    };
  });
  assert.ok(fit.overflow <= 0, `${what}: the status bar overflows by ${fit.overflow}px`);
  const { button, window: w } = fit;
  assert.ok(
    button.left >= 0 && button.right <= w.width && button.top >= 0 && button.bottom <= w.height && button.width > 100,
    `${what}: Sync now is whole in the window: ${JSON.stringify(fit)}`,
  );
}

for (const size of SIZES) {
  const at = `${size.width}×${size.height}`;
  describe(`at ${at}`, () => {
    it("the status bar fits and Sync now is whole: offline, error, syncing with progress, conflicts, printer offline", async () => {
      const seed = {
        syncFails: LONG_ERROR, syncDelayMs: 100,
        store: { store_name: "Till Demo Café & Grocer" }, settings: { operator: "Alexandra Montgomery" },
      };
      const { page, context } = await openApp(browser, server.url, { viewport: size, seed });
      try {
        for (const [name, { printer = NO_PRINTER, ...snapshot }] of Object.entries(STATES)) {
          await page.evaluate(([s, p]) => (window.__mock.emitState(s), window.__mock.emit("printer://status", p)), [snapshot, printer]);
          await page.getByTestId("status-bar").and(page.locator(`[data-state="${snapshot.state}"]`)).waitFor();
          if (printer.state === "offline") {
            const notice = page.getByTestId("printer-status");
            await notice.filter({ hasText: "Printer offline" }).waitFor();
            assert.ok((await notice.boundingBox()).width > 40, `${at} ${name}: the printer's notice gives way but stays on screen`);
          }
          await assertStatusBarFits(page, `${at} ${name}`);
        }
        const nav = await page.getByRole("navigation", { name: "Screens" }).evaluate((n) => n.scrollWidth - n.clientWidth);
        assert.ok(nav <= 0, `${at}: every screen's tab is in view, badges and all (the tabs overflow by ${nav}px)`);
        // A failed Sync now: its result beside the button, the error in a few words.
        await page.getByTestId("sync-now").click();
        await page.getByTestId("sync-now-result").filter({ hasText: "Sync failed: Back office unreachable" }).waitFor();
        await assertStatusBarFits(page, `${at} after a failed Sync now`);
        const bar = await page.getByTestId("status-bar").innerText();
        assert.doesNotMatch(bar, /http|error sending request/, `no raw error in the bar: ${bar}`);
        await page.getByTestId("sync-state").click();
        await page.getByTestId("sync-error-message").filter({ hasText: "Connection refused" }).waitFor();
      } finally {
        await context.close();
      }
    });

    it("the register shows every category key, many cart lines, and keeps the new line in view", async () => {
      const { page, context } = await openApp(browser, server.url, { viewport: size, seed: { bigCatalog: true } });
      try {
        const toolbar = page.getByRole("toolbar", { name: "Categories" });
        assert.equal(await toolbar.evaluate((t) => t.scrollHeight <= t.clientHeight), true, "no category hides in a scrolling strip");
        for (const cat of ["Snacks", "Pantry", "Produce", "Household"]) {
          assert.equal(await page.getByTestId(`cat-${cat}`).isVisible(), true, `${cat} is on screen`);
        }
        const cut = await page.evaluate(() =>
          [...document.querySelectorAll('[data-testid="search-results"] .product')]
            .filter((tile) => tile.scrollHeight > tile.clientHeight + 1)
            .map((tile) => tile.dataset.testid),
        );
        assert.deepEqual(cut, [], "every tile is tall enough for its name, price and SKU");
        const skus = ["BAK-001", "BAK-002", "DRK-003", "DAI-001", "HOU-003", "SNK-001", "PRO-002", "HOT-001", "PAN-010", "DRK-001", "DRK-004", "SNK-002"];
        for (const sku of skus) await burst(page, sku);
        await page.getByTestId("cart-line").nth(skus.length - 1).waitFor();
        const shown = await page.evaluate(() => {
          const box = document.querySelector('[data-testid="cart-lines"]').getBoundingClientRect();
          const lines = [...document.querySelectorAll('[data-testid="cart-line"]')];
          const whole = (li) => {
            const r = li.getBoundingClientRect();
            return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
          };
          return { whole: lines.filter(whole).length, lastInView: whole(lines[lines.length - 1]) };
        });
        assert.ok(shown.whole >= (size.height >= 800 ? 9 : 7), `${at}: ${shown.whole} lines on show`);
        assert.equal(shown.lastInView, true, "the line just added is in view");

        await page.keyboard.press("ArrowUp");
        for (let i = 0; i < skus.length; i++) await page.keyboard.press("ArrowUp");
        const first = page.getByTestId("cart-line").first();
        assert.equal(await first.evaluate((li) => li.classList.contains("selected")), true);
        assert.equal(await first.isVisible(), true);
        assert.equal(
          await first.evaluate((li) => {
            const r = li.getBoundingClientRect();
            return r.top >= li.parentElement.getBoundingClientRect().top - 1;
          }),
          true,
          "a line chosen by keyboard is scrolled into view",
        );
        assert.deepEqual(await clipped(page), [], "nothing sticks out of the window");
      } finally {
        await context.close();
      }
    });

    it("a damaged store: the banner names the file set aside and the salvage, the register sells on", async () => {
      const damage = {
        file: "till.db.damaged-1764460800000", path: "/home/till/.local/share/till/till.db.damaged-1764460800000",
        detected_at_ms: Date.now(), detail: "file is not a database", salvaged: null, salvage_failed: null,
      };
      const { page, context, errors } = await openApp(browser, server.url, { viewport: size, seed: { storeDamage: damage } });
      try {
        const banner = page.getByTestId("store-damaged");
        await banner.filter({ hasText: "set aside as till.db.damaged-1764460800000" }).waitFor();
        assert.equal(await banner.getAttribute("role"), "alert", "said plainly, to a screen reader too");
        assert.match(await banner.innerText(), /being salvaged/);
        await page.evaluate((d) => window.__mock.emit("store://damaged", { ...d, salvaged: { tickets: 12, queued: 3, unreadable_tickets: 0 } }), damage);
        await page.getByTestId("store-damaged-salvage").filter({ hasText: "salvaged (12 tickets)" }).waitFor();
        await assertStatusBarFits(page, `${at} with the damage banner`);
        assert.deepEqual(await clipped(page), [], "nothing sticks out of the window under the banner");
        await page.getByTestId("store-damaged").locator("button.words").click();
        await page.getByTestId("store-damaged-details").filter({ hasText: "file is not a database" }).waitFor();

        await page.keyboard.press("F2");
        await burst(page, "BAK-002");
        await page.getByTestId("cart-line").first().waitFor();
        await page.keyboard.press("F4");
        await page.getByTestId("complete-sale").click();
        await page.getByTestId("receipt").waitFor();
        await page.getByTestId("new-sale").click();

        await page.getByTestId("store-damaged-dismiss").click();
        await page.getByTestId("store-damaged").waitFor({ state: "detached" });
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("the question before closing fits, with its progress and with a long failure", async () => {
      const seed = { failed: false, conflicts: false, syncDelayMs: 600, syncFails: LONG_ERROR };
      const { page, context, errors } = await openApp(browser, server.url, { viewport: size, seed });
      try {
        await sellOne(page);
        await page.evaluate(() => window.__mock.requestClose());
        await page.getByTestId("close-dialog").waitFor();
        assert.deepEqual(await clipped(page), [], "the question");
        await page.getByTestId("close-sync").click();
        await page.getByTestId("close-progress").waitFor();
        assert.deepEqual(await clipped(page), [], "sending");
        await page.getByTestId("close-failure").waitFor();
        assert.deepEqual(await clipped(page), [], "the failure");
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });

    it("the ticket actions, the conflict review and the other screens fit", async () => {
      const { page, context } = await openApp(browser, server.url, { viewport: size, seed: { moreConflicts: true, disputed: true } });
      try {
        await page.getByTestId("tab-tickets").click();
        await page.locator('[data-testid="ticket-row"][data-number="2"]').click();
        for (const id of ["void-ticket", "refund-ticket"]) {
          const box = await page.getByTestId(id).boundingBox();
          assert.ok(box && box.y + box.height <= size.height, `${id} is above the fold: ${JSON.stringify(box)}`);
        }
        assert.deepEqual(await clipped(page), [], "tickets");
        await page.getByTestId("tab-conflicts").click();
        await page.getByTestId("conflict-item").first().click();
        await page.getByTestId("resolve").waitFor();
        assert.deepEqual(await clipped(page), [], "conflict review");
        await page.getByTestId("conflict-item").filter({ hasText: "Ticket #12" }).click();
        await page.getByTestId("settle-cash-came-back").waitFor();
        assert.deepEqual(await clipped(page), [], "a disputed reversal's settlements");
        for (const tab of ["customers", "failed", "activity", "settings"]) {
          await page.getByTestId(`tab-${tab}`).click();
          assert.deepEqual(await clipped(page), [], tab);
        }
      } finally {
        await context.close();
      }
    });

    it("the PIN pad, the approval dialog, split tender, park and recall, and the shift screens fit", async () => {
      const seed = { employees: true, openShift: true, parked: [{ label: "Blue coat", lines: [[3, 1]] }, { label: "Lady with the long name of a customer", lines: [[1, 2]] }] };
      const { page, context, errors } = await openApp(browser, server.url, { viewport: size, seed });
      try {
        await page.getByTestId("lock-screen").waitFor();
        await page.keyboard.type("000", { delay: 20 });
        await page.keyboard.press("Enter");
        await page.getByTestId("pin-error").waitFor();
        assert.deepEqual(await clipped(page), [], "the PIN pad");
        await page.keyboard.type("1234", { delay: 20 });
        await page.keyboard.press("Enter");
        await page.getByTestId("signed-in").waitFor();
        assert.deepEqual(await clipped(page), [], "the register with who is signed in");
        for (const id of ["signed-in", "lock", "park-sale", "recall-sale"]) {
          assert.equal(await page.getByTestId(id).isVisible(), true, `${id} shows`);
        }
        await page.getByTestId("recall-sale").click();
        await page.getByTestId("parked-list").waitFor();
        assert.deepEqual(await clipped(page), [], "the parked sales");
        await page.keyboard.press("Escape");

        await burst(page, "croissant");
        await page.getByTestId("cart-line").first().waitFor();
        await page.keyboard.press("F4");
        await page.getByTestId("method-split").click();
        await page.getByTestId("add-card").click();
        await page.getByTestId("add-card").click();
        assert.deepEqual(await clipped(page), [], "split tender with three cards");
        await page.keyboard.press("Escape");

        await page.getByTestId("tab-shift").click();
        await page.getByTestId("x-report").waitFor();
        assert.deepEqual(await clipped(page), [], "the shift with its X report");
        await page.getByTestId("no-sale").click();
        await page.getByTestId("no-sale-reason").fill("Change for parking");
        await page.getByTestId("confirm-no-sale").click();
        await page.getByTestId("approval-dialog").waitFor();
        assert.deepEqual(await clipped(page), [], "the approval dialog");
        await page.keyboard.press("Escape");
        await page.getByTestId("close-shift").click();
        await page.getByTestId("count-1").waitFor();
        assert.deepEqual(await clipped(page), [], "counting the drawer");
        await page.getByTestId("count-1000").fill("10");
        await page.getByTestId("counted-total").filter({ hasText: "£100.00" }).waitFor();
        await page.getByTestId("confirm-close").click();
        await page.getByTestId("z-report").waitFor();
        assert.deepEqual(await clipped(page), [], "the Z report");
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });
  });
}
