// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { Currency } from "./Currency";

export type StoreSettings = {
  store_name: string;
  currency: Currency;
  prices_include_tax: boolean;
  locale: string;
};
