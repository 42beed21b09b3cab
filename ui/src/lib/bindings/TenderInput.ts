// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type TenderInput =
  | { kind: "cash"; tendered: number }
  | { kind: "card"; amount: number; approval_ref: string; last4: string | null };
