// The receipt printer as the UI words it: the status bar's notice, and a receipt's blocks as the
// lines the screen shows (the paper's renderers, `till_core::receipt::text`, say the same).
import { api } from "./api";
import type { Block } from "./bindings/Block";
import type { PrinterStatus } from "./bindings/PrinterStatus";

/**
 * What the status bar says about the printer: `Printer offline — 2 receipts waiting` while it
 * is offline; nothing while it prints (or there is none).
 */
export function printerNotice(p: PrinterStatus | null): string | null {
  if (!p || p.state !== "offline") return null;
  if (p.queued === 0) return "Printer offline";
  return `Printer offline — ${p.queued} ${p.queued === 1 ? "receipt" : "receipts"} waiting`;
}

/** An item's second line, as the paper prints it: `2 x £1.45`. */
export function itemEach(b: Extract<Block, { block: "item" }>, fmt: (minor: number) => string): string {
  return `${b.quantity} x ${fmt(b.unit_price)}`;
}

/** Whether the Print button queues on the printer (one is set) or opens the system's print dialog. */
export function printsOnPrinter(p: PrinterStatus | null): boolean {
  return !!p && p.state !== "none";
}

/**
 * Prints a ticket's receipt: queued on the printer when one is set (marked `COPY` when `copy`),
 * where it waits while the printer is offline; else the system's print dialog prints the
 * receipt on screen. Answers what the cashier is told; a refusal is rethrown as an AppError.
 */
export async function printTicket(ticketId: string, copy: boolean, printer: PrinterStatus | null): Promise<string> {
  if (!printsOnPrinter(printer)) {
    window.print();
    return "Sent to the system's printer";
  }
  const number = await api.printReceipt(ticketId, copy);
  return printer?.state === "offline"
    ? `The receipt of #${number} waits for the printer`
    : `The receipt of #${number} is printing`;
}
