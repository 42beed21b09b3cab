// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type ConnectionTest = {
  ok: boolean;
  latency_ms: number | null;
  server_version: string | null;
  clock_offset_ms: number | null;
  message: string | null;
};
