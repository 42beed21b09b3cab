// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type TicketTotals = {
  subtotal: number;
  discount_total: number;
  tax_total: number;
  total: number;
};
