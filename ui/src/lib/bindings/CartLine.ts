// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { Discount } from "./Discount";

export type CartLine = { product_id: string; quantity: number; discount: Discount | null };
