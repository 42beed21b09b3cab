// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type SyncCycle = {
  id: number;
  started_at_ms: number;
  duration_ms: number;
  pushed: number;
  pulled: number;
  conflicts: number;
  errors: number;
  error: string | null;
};
