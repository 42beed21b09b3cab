// "Sync now" answers at once: busy the moment it is pressed, then the result of the cycle it
// started (read from the status snapshots the shell pushes), or why it could not run.
import type { SyncNowAnswer } from "./bindings/SyncNowAnswer";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { AppError } from "./bindings/AppError";
import { errorHeadline } from "./status";

export type SyncNowView =
  | { phase: "ready" }
  | { phase: "busy"; baseline: number }
  | { phase: "done"; ok: boolean; message: string }
  | { phase: "refused"; message: string };

/** Pressed: busy until a cycle after `baseline` (the completed cycles seen at the press) ends. */
export function pressed(status: SyncStatus): SyncNowView {
  return { phase: "busy", baseline: status.completed_cycles };
}

/** The shell answered the press. */
export function answered(view: SyncNowView, answer: SyncNowAnswer): SyncNowView {
  if (view.phase !== "busy") return view;
  if (answer.accepted) return view;
  return { phase: "refused", message: answer.reason ?? "Sync cannot run now" };
}

/** The command itself failed (the shell is gone, or it refused with an error). */
export function failed(err: AppError): SyncNowView {
  return { phase: "refused", message: err.message };
}

/** A new snapshot arrived: a cycle that ended after the press settles the result. */
export function observed(view: SyncNowView, s: SyncStatus): SyncNowView {
  if (view.phase !== "busy") return view;
  if (s.completed_cycles <= view.baseline || s.state === "syncing") return view;
  if (s.last_error) return { phase: "done", ok: false, message: `Sync failed: ${errorHeadline(s.last_error.code)}` };
  if (s.failed > 0 || s.conflicts > 0) {
    return { phase: "done", ok: true, message: "Synced — some items need review" };
  }
  return {
    phase: "done",
    ok: true,
    message: s.pending === 0 ? "Up to date" : `Synced — ${s.pending} still pending`,
  };
}
