// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type SyncProgress = { done: number; total: number };
