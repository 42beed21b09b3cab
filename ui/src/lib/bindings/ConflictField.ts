// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type ConflictField = {
  name: string;
  mine: string | null;
  theirs: string | null;
  differs: boolean;
};
