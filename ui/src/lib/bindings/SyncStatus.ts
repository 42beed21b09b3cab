// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { AppError } from "./AppError";
import type { EngineState } from "./EngineState";
import type { SyncProgress } from "./SyncProgress";

export type SyncStatus = {
  state: EngineState;
  online: boolean;
  pending: number;
  failed: number;
  conflicts: number;
  progress: SyncProgress | null;
  throughput_per_s: number | null;
  eta_secs: number | null;
  last_success_at_ms: number | null;
  next_retry_at_ms: number | null;
  last_error: AppError | null;
  clock_offset_ms: number | null;
  completed_cycles: number;
};
