// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type ProductView = {
  id: string;
  sku: string;
  barcode: string | null;
  name: string;
  category: string;
  unit_price: number;
  tax_category: string;
  tax_rate_bp: number;
  active: boolean;
};
