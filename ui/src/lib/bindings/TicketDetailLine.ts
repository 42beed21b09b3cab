// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { Discount } from "./Discount";

export type TicketDetailLine = {
  line_no: number;
  product_id: string;
  sku: string;
  name: string;
  quantity: number;
  unit_price: number;
  tax_rate_bp: number;
  discount: Discount | null;
  gross: number;
  line_discount: number;
  ticket_discount: number;
  amount: number;
  tax: number;
  total: number;
  refunded_quantity: number;
};
