// Screenshots of the built UI over the fake shell, at the two sizes the till must read well at.
// Usage: node scripts/screenshots.js [outDir]   (default /tmp/till-ui-shots)
import { mkdir } from "node:fs/promises";
import { launch, openApp, serveDist } from "../tests/browser/harness.js";

const out = process.argv[2] || "/tmp/till-ui-shots";
await mkdir(out, { recursive: true });
const server = await serveDist();
const browser = await launch();
// The smallest window the app allows, its default size, and a large screen.
const sizes = [{ width: 1024, height: 700 }, { width: 1280, height: 800 }, { width: 1920, height: 1080 }];
try {
  for (const viewport of sizes) {
    const tag = `${viewport.width}x${viewport.height}`;
    const { page, context } = await openApp(browser, server.url, { viewport, seed: { syncDelayMs: 60000 } });
    const shot = (name) => page.screenshot({ path: `${out}/${tag}-${name}.png` });
    const search = page.getByTestId("product-search");
    await search.fill("croissant");
    await page.getByTestId("product-BAK-002").click();
    await search.fill("");
    await page.getByTestId("product-DRK-003").click();
    await page.getByTestId("product-DRK-003").click();
    await page.getByTestId("product-HOU-003").click();
    await page.getByTestId("grand-total").waitFor();
    await page.evaluate(() => window.__mock.emitState({ state: "syncing", pending: 240, progress: { done: 96, total: 240 }, eta_secs: 14, throughput_per_s: 48 }));
    await shot("register-syncing");
    await page.getByTestId("pay").click();
    await page.getByTestId("quick-cash").nth(2).click();
    await page.getByTestId("change-due").filter({ hasText: "£" }).waitFor();
    await shot("tender");
    await page.getByTestId("complete-sale").click();
    await page.getByTestId("receipt").waitFor();
    await shot("receipt");
    await page.emulateMedia({ media: "print" });
    await shot("receipt-print");
    await page.emulateMedia({ media: "screen" });
    await page.getByTestId("new-sale").click();
    await page.evaluate(() => window.__mock.emitState({ state: "backing_off", online: false, progress: null, pending: 4, next_retry_at_ms: Date.now() + 42000, clock_offset_ms: -300000 }));
    await shot("register-offline");
    await page.getByTestId("tab-conflicts").click();
    await page.getByTestId("conflict-item").first().click();
    await page.getByTestId("pick-mine").nth(1).click();
    await shot("conflicts");
    await page.getByTestId("tab-failed").click();
    await page.getByTestId("failed-row").first().waitFor();
    await shot("failed");
    await page.getByTestId("tab-tickets").click();
    await page.getByTestId("ticket-row").first().click();
    await page.getByTestId("receipt").waitFor();
    await shot("tickets");
    await page.getByTestId("tab-activity").click();
    await page.getByTestId("cycle-row").first().waitFor();
    await shot("activity");
    await page.getByTestId("tab-customers").click();
    await page.getByTestId("customer-row").first().click();
    await shot("customers");
    await context.close();
    const first = await openApp(browser, server.url, { viewport, seed: { enrolled: false, conflicts: false, failed: false, tickets: false } });
    await first.page.screenshot({ path: `${out}/${tag}-first-run.png` });
    await first.page.getByTestId("enrol-cta").click();
    await first.page.screenshot({ path: `${out}/${tag}-settings.png` });
    await first.context.close();
    // A till with employees: the PIN pad, then a shift's Z report.
    const staffed = await openApp(browser, server.url, { viewport, seed: { employees: true, openShift: true } });
    await staffed.page.getByTestId("lock-screen").waitFor();
    await staffed.page.keyboard.type("12", { delay: 30 });
    await staffed.page.screenshot({ path: `${out}/${tag}-pin-pad.png` });
    await staffed.page.keyboard.type("34", { delay: 30 });
    await staffed.page.keyboard.press("Enter");
    await staffed.page.getByTestId("tab-shift").click();
    await staffed.page.getByTestId("close-shift").click();
    await staffed.page.getByTestId("count-5000").fill("2");
    await staffed.page.getByTestId("counted-total").filter({ hasText: "£" }).waitFor();
    await staffed.page.getByTestId("confirm-close").click();
    await staffed.page.getByTestId("z-report").waitFor();
    await staffed.page.screenshot({ path: `${out}/${tag}-z-report.png` });
    await staffed.context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(`screenshots in ${out}`);
