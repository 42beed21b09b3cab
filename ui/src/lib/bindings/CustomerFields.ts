// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type CustomerFields = {
  name: string;
  email: string | null;
  phone: string | null;
  note: string | null;
};
