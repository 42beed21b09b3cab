// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { QuoteLine } from "./QuoteLine";
import type { TaxFigures } from "./TaxFigures";
import type { TicketTotals } from "./TicketTotals";

export type Quote = {
  lines: Array<QuoteLine>;
  taxes: Array<TaxFigures>;
  totals: TicketTotals;
  cash_suggestions: Array<number>;
};
