// Shifts as the Shift screen shows them: the X report of the open shift, the Z report of a
// closed one, and where each closed shift stands with the back office. The shape is the core's
// `ShiftView` (generated bindings). Every figure comes from the core: nothing here adds money.
import type { ReconciliationState } from "./bindings/ReconciliationState";
import type { ShiftMismatch } from "./bindings/ShiftMismatch";
import type { ShiftView } from "./bindings/ShiftView";
import type { CashCount } from "./bindings/CashCount";
import { formatRate } from "./money";

/** The figures of a report in the order the Z report prints them, with their words. */
export const FIGURES: Array<{ key: keyof ShiftView; label: string }> = [
  { key: "float", label: "Float" },
  { key: "tickets", label: "Tickets" },
  { key: "sales", label: "Sales" },
  { key: "reversals", label: "Voids and refunds" },
  { key: "cash_sales", label: "Cash sales" },
  { key: "cash_refunds", label: "Cash refunds" },
  { key: "cash_in", label: "Cash in" },
  { key: "cash_out", label: "Cash out" },
  { key: "expected_cash", label: "Expected in the drawer" },
];

/** Figures that count tickets, not money. */
export const COUNT_FIGURES: ReadonlySet<string> = new Set(["tickets"]);

/** A reconciliation state in one word, for the list of closed shifts. */
export const STATE_WORD: Record<ReconciliationState, string> = { pending: "Pending", matched: "Matched", mismatch: "Mismatch" };

/** A reconciliation state in a few words, for the Z report. */
export function reconciliationWords(state: ReconciliationState): string {
  switch (state) {
    case "pending":
      return "Not checked by the back office yet";
    case "matched":
      return "Matches the back office";
    case "mismatch":
      return "Differs from the back office";
  }
}

/** What differs, one sentence a line: missing tickets, unexpected ones, each figure. */
export function mismatchLines(r: ShiftMismatch | null, fmt: (minor: number) => string): string[] {
  if (r === null) return [];
  const out: string[] = [];
  const numbers = (ns: number[]) => ns.map((n) => `#${n}`).join(", ");
  if (r.missing_tickets.length) out.push(`Not in the back office: ${numbers(r.missing_tickets)}`);
  if (r.unexpected_tickets.length) out.push(`Only in the back office: ${numbers(r.unexpected_tickets)}`);
  for (const d of r.differences) {
    const show = d.figure === "tickets" ? String : fmt;
    out.push(`${figureName(d.figure)}: ${show(d.till)} here, ${show(d.back_office)} in the back office`);
  }
  return out;
}

/** A figure's name as the back office names it (`cash_in`, `tender:card`, `tax:2000`) in words. */
export function figureName(figure: string): string {
  if (figure.startsWith("tender:")) return `${capitalise(figure.slice(7))} (net)`;
  if (figure.startsWith("tax:")) return `Tax ${formatRate(Number(figure.slice(4)))}`;
  return FIGURES.find((f) => f.key === figure)?.label ?? figure;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The counts as typed (one text field per note or coin) that hold a whole number above 0. */
export function countsOf(values: number[], typed: Record<number, string>): CashCount[] | null {
  const out: CashCount[] = [];
  for (const value of values) {
    const t = (typed[value] ?? "").trim();
    if (t === "") continue;
    if (!/^\d{1,5}$/.test(t)) return null;
    if (Number(t) > 0) out.push({ value, count: Number(t) });
  }
  return out;
}

/** A time as the core sends it (RFC 3339), in the store's locale: date and time, short. */
export function shortTime(rfc3339: string | null, locale: string): string {
  if (rfc3339 === null) return "—";
  const at = new Date(rfc3339);
  return Number.isNaN(at.getTime()) ? rfc3339 : at.toLocaleString(locale, { dateStyle: "short", timeStyle: "short" });
}

/** The open shift, from what `shift_current` answers (the open shift, or else the last closed one). */
export function stillOpen(shown: ShiftView | null): ShiftView | null {
  return shown?.state === "open" ? shown : null;
}
