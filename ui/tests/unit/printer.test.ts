import { describe, expect, it, vi } from "vitest";
import type { PrinterStatus } from "../../src/lib/bindings/PrinterStatus";
import { itemEach, printerNotice, printsOnPrinter, printTicket } from "../../src/lib/printer";

const status = (state: PrinterStatus["state"], queued: number): PrinterStatus => ({ target: "tcp://10.0.0.9:9100", state, queued });

describe("printer", () => {
  it("says the printer is offline with what waits, as the core's summary words it", () => {
    expect(printerNotice(status("offline", 2))).toBe("Printer offline — 2 receipts waiting");
    expect(printerNotice(status("offline", 1))).toBe("Printer offline — 1 receipt waiting");
    expect(printerNotice(status("offline", 0))).toBe("Printer offline");
  });

  it("says nothing while the printer prints, or without one", () => {
    expect(printerNotice(status("ok", 3))).toBeNull();
    expect(printerNotice({ target: "none", state: "none", queued: 0 })).toBeNull();
    expect(printerNotice(null)).toBeNull();
  });

  it("prints an item's quantity and unit price as the paper does", () => {
    const item = { block: "item", name: "Flat white", quantity: 2, unit_price: 340, discount: null, amount: 680 } as const;
    expect(itemEach(item, (m) => `£${(m / 100).toFixed(2)}`)).toBe("2 x £3.40");
  });

  it("queues on the printer when one is set, else opens the system's print dialog", async () => {
    expect(printsOnPrinter(status("offline", 1))).toBe(true);
    expect(printsOnPrinter({ target: "none", state: "none", queued: 0 })).toBe(false);
    const print = vi.spyOn(window, "print").mockImplementation(() => {});
    expect(await printTicket("any", true, { target: "none", state: "none", queued: 0 })).toBe("Sent to the system's printer");
    expect(print).toHaveBeenCalledOnce();
    print.mockRestore();
  });
});
