// The receipt printer, in real Chromium against the built UI and the fake shell answering in the
// core's shapes: its Settings panel, a reprint from Tickets, the receipt on screen drawn from the
// core's model, and the status bar that says when the printer is offline and what waits.
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

const PRINTER = { target: "tcp://192.168.1.50:9100", auto: true, paper: "mm80" };
const callsOf = (page, cmd) => page.evaluate((c) => window.__mock.calls.filter((x) => x.cmd === c).map((x) => x.args), cmd);

describe("the printer in Settings", () => {
  it("refuses a bad address inline, saves the printer, prints a test page and what waits", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { printerOffline: true } });
    try {
      await page.getByTestId("tab-settings").click();
      assert.equal(await page.getByTestId("printer-target").inputValue(), "none");
      assert.equal(await page.getByTestId("print-test").isDisabled(), true, "no test page without a printer");

      await page.getByTestId("printer-target").fill("lpt1");
      await page.getByTestId("save-printer").click();
      await page.getByTestId("printer-message").filter({ hasText: 'printer target "lpt1" is not tcp://HOST:PORT' }).waitFor();
      assert.equal(await page.getByTestId("printer-message").evaluate((e) => e.classList.contains("error-text")), true);

      await page.getByTestId("printer-target").fill(PRINTER.target);
      await page.getByTestId("printer-auto").check();
      await page.getByTestId("printer-paper").selectOption("mm58");
      await page.getByTestId("save-printer").click();
      await page.getByTestId("printer-message").filter({ hasText: `Printing to ${PRINTER.target}` }).waitFor();
      assert.deepEqual((await callsOf(page, "set_printer")).at(-1), { settings: { target: PRINTER.target, auto: true, paper: "mm58" } });

      // The printer is off: the test page waits, and the panel says why.
      await page.getByTestId("print-test").click();
      await page.getByTestId("printer-message").filter({ hasText: "connection refused; 1 waiting" }).waitFor();
      await page.getByTestId("printer-status").filter({ hasText: "Printer offline — 1 receipt waiting" }).waitFor();
      await page.evaluate(() => (window.__mock.db.printerOnline = true));
      await page.getByTestId("print-flush").click();
      await page.getByTestId("printer-message").filter({ hasText: "Printed 1" }).waitFor();
      await page.getByTestId("printer-status").waitFor({ state: "detached" });
      assert.deepEqual(await page.evaluate(() => window.__mock.db.printed.map((j) => j.kind)), ["test"]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});

describe("receipts", () => {
  it("draws the sale's receipt from the core's model, block by block, and prints it on the printer", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { printer: { ...PRINTER, auto: false } } });
    try {
      await page.getByTestId("product-DRK-001").click();
      await page.keyboard.press("F4");
      await page.getByTestId("quick-cash").first().click();
      await page.getByTestId("complete-sale").click();
      await page.getByTestId("receipt").waitFor();
      const [{ ticketId, copy }] = await callsOf(page, "receipt_view");
      assert.equal(copy, false);
      const model = await page.evaluate(([id]) => window.__TAURI_INTERNALS__.invoke("receipt_view", { ticketId: id, copy: false }), [ticketId]);
      // The screen says what the paper says, line by line, in the model's order.
      const gbp = (m) => `£${(m / 100).toFixed(2)}`;
      const expected = model.blocks.flatMap((b) => {
        switch (b.block) {
          case "field": return [b.label, b.value];
          case "item": return [b.name, `${b.quantity} x ${gbp(b.unit_price)}`, gbp(b.amount), ...(b.discount === null ? [] : ["Discount", gbp(-b.discount)])];
          case "amount": return [b.label, gbp(b.minor)];
          case "rule": return [];
          case "qr": return [b.data];
          default: return [b.text];
        }
      });
      const shown = (await page.getByTestId("receipt").innerText()).split("\n").map((l) => l.trim()).filter(Boolean);
      assert.deepEqual(shown, expected);
      assert.equal(await page.getByTestId("receipt").locator("hr").count(), model.blocks.filter((b) => b.block === "rule").length, "each rule is drawn");
      assert.equal(await page.getByTestId("receipt-total").innerText(), "£1.19");
      await page.getByTestId("receipt-code").filter({ hasText: ticketId }).waitFor();
      const qr = model.blocks.find((b) => b.block === "qr");
      const side = qr.modules.length + 8;
      assert.equal(await page.getByTestId("receipt-qr").getAttribute("viewBox"), `-4 -4 ${side} ${side}`, "the QR code is drawn with its quiet zone");
      assert.match(await page.getByTestId("receipt-qr").locator("path").getAttribute("d"), /^M\d+ \d+h\d+v1h-\d+z/, "its dark modules are drawn");

      await page.getByTestId("print-receipt").click();
      await page.getByTestId("print-message").filter({ hasText: "is printing" }).waitFor();
      assert.deepEqual(await callsOf(page, "print_receipt"), [{ ticket: ticketId, copy: false }]);
      assert.deepEqual(await page.evaluate(() => window.__mock.db.printed.map((j) => j.kind)), ["receipt"]);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("reprints a ticket from Tickets as a copy; it waits while the printer is offline and prints once it is back", async () => {
    const { page, context, errors } = await openApp(browser, server.url, { seed: { printer: PRINTER, printerOffline: true } });
    try {
      await page.getByTestId("tab-tickets").click();
      await page.getByTestId("ticket-lookup").fill("#3");
      await page.keyboard.press("Enter");
      await page.getByTestId("receipt").filter({ hasText: /Ticket #3(?!\d)/ }).waitFor();
      await page.getByTestId("reprint").click();
      await page.getByTestId("reprint-message").filter({ hasText: "The receipt of #3 waits for the printer" }).waitFor();
      const id = await page.evaluate(() => window.__mock.db.tickets.find((t) => t.number === 3).id);
      assert.deepEqual(await callsOf(page, "print_receipt"), [{ ticket: id, copy: true }]);
      // The status bar says so without a click, and clears when the printer is back.
      await page.getByTestId("printer-status").filter({ hasText: "Printer offline — 1 receipt waiting" }).waitFor();
      await page.evaluate(() => window.__mock.setPrinterOnline(true));
      await page.getByTestId("printer-status").waitFor({ state: "detached" });
      const printed = await page.evaluate(() => window.__mock.db.printed);
      assert.deepEqual(printed.map((j) => [j.kind, j.what]), [["copy", "#3"]]);
      assert.equal(printed[0].receipt.blocks.find((b) => b.block === "banner")?.text, "COPY", "the copy says so on paper");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
