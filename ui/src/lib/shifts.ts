// Shifts as the Shift screen shows them: the X report of the open shift, the Z report of a
// closed one, and where each closed shift stands with the back office. The shapes are those of
// docs/app-api.md ("Shifts"); the shell's generated bindings take their place once it has the
// commands. Every figure comes from the core: nothing here adds money.
import type { Operator } from "./bindings/Operator";
import type { TaxFigures } from "./bindings/TaxFigures";
import { formatRate } from "./money";

export type TenderTotal = { tender: string; sales: number; refunds: number; net: number };
export type FigureDifference = { figure: string; till: number; back_office: number };
export type Reconciliation =
  | { state: "pending" }
  | { state: "matched" }
  | { state: "mismatch"; missing_tickets: number[]; unexpected_tickets: number[]; differences: FigureDifference[] };

export type ShiftReport = {
  shift_id: string;
  z_number: number;
  opened_by: Operator;
  opened_at_ms: number;
  float: number;
  tickets: number;
  sales: number;
  reversals: number;
  cash_sales: number;
  cash_refunds: number;
  cash_in: number;
  cash_out: number;
  expected_cash: number;
  totals_by_tender: TenderTotal[];
  tax_by_rate: TaxFigures[];
  closed_by: Operator | null;
  closed_at_ms: number | null;
  counted_cash: number | null;
  difference: number | null;
  reconciliation: Reconciliation;
};

/** How many of one note or coin (its value in minor units) were counted. */
export type CashCount = { value: number; count: number };

/** The figures of a report in the order the Z report prints them, with their words. */
export const FIGURES: Array<{ key: keyof ShiftReport; label: string }> = [
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
export const STATE_WORD: Record<Reconciliation["state"], string> = { pending: "Pending", matched: "Matched", mismatch: "Mismatch" };

/** A reconciliation state in a few words, for the Z report. */
export function reconciliationWords(r: Reconciliation): string {
  switch (r.state) {
    case "pending":
      return "Not checked by the back office yet";
    case "matched":
      return "Matches the back office";
    case "mismatch":
      return "Differs from the back office";
  }
}

/** What differs, one sentence a line: missing tickets, unexpected ones, each figure. */
export function mismatchLines(r: Reconciliation, fmt: (minor: number) => string): string[] {
  if (r.state !== "mismatch") return [];
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
