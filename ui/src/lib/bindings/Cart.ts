// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { CartLine } from "./CartLine";
import type { Discount } from "./Discount";

export type Cart = {
  lines: Array<CartLine>;
  ticket_discount: Discount | null;
  customer_id: string | null;
};
