// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type EngineState =
  | "idle"
  | "syncing"
  | "backing_off"
  | "offline"
  | "auth_error"
  | "paused"
  | "not_enrolled"
  | "stopped";
