// What the status bar says for a sync snapshot. Pure functions of (snapshot, now) so every state
// is tested without a clock.
import type { ErrorCode } from "./bindings/ErrorCode";
import type { SyncStatus } from "./bindings/SyncStatus";

export type Tone = "ok" | "busy" | "warn" | "error" | "muted";

export type StateView = { label: string; detail: string | null; tone: Tone };

/** Clock offsets beyond this are worth the cashier's attention (receipts and HLC stamps). */
export const CLOCK_WARN_MS = 2 * 60 * 1000;

/** "12 s", "3 min 05 s", "2 h 10 min": a countdown or an ETA. */
export function formatDuration(totalSecs: number): string {
  const s = Math.max(0, Math.ceil(totalSecs));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** "just now", "5 min ago", "3 h ago", or a date for anything older than a day. */
export function relativeTime(atMs: number, nowMs: number, locale = "en"): string {
  const secs = Math.round((nowMs - atMs) / 1000);
  if (secs < 45) return "just now";
  const mins = Math.round(secs / 60);
  if (mins < 60) return `${mins} min ago`;
  const hours = Math.round(mins / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(atMs).toLocaleDateString(locale);
}

/** Short words for why sync failed, by the code the core recorded; the full message is a click away. */
const ERROR_HEADLINES: Partial<Record<ErrorCode, string>> = {
  server_unreachable: "Back office unreachable",
  no_answer: "No answer from the back office",
  server_error: "Back office error",
  rate_limited: "Back office busy",
  unauthorized: "Not authorised",
  request_refused: "Back office refused the request",
  malformed_response: "Unexpected answer from the back office",
  protocol_error: "Unexpected answer from the back office",
  bad_server_url: "Back office address is wrong",
  not_enrolled: "Not enrolled",
  sync_busy: "Another sync is running",
  disk_full: "The disk is full",
  database_corrupt: "The database is damaged",
  verify_mismatch: "Back office record disagrees",
};

/** A failure in a few words a cashier understands ("Back office unreachable"). */
export function errorHeadline(code: ErrorCode): string {
  return ERROR_HEADLINES[code] ?? "Sync error";
}

/** "retry in 42 s" until `next_retry_at_ms` (never negative), or `soon` without one. */
function countdown(s: SyncStatus, nowMs: number, words: string, soon: string): string {
  return s.next_retry_at_ms === null ? soon : `${words} ${formatDuration((s.next_retry_at_ms - nowMs) / 1000)}`;
}

/** The headline of the status bar: the engine's state in a cashier's words. */
export function describeState(s: SyncStatus, nowMs: number): StateView {
  switch (s.state) {
    case "syncing":
      return { label: "Syncing", detail: null, tone: "busy" };
    case "idle":
      return s.pending === 0
        ? { label: "In sync", detail: null, tone: "ok" }
        : { label: "Online", detail: "waiting to send", tone: "ok" };
    case "backing_off": {
      const detail = countdown(s, nowMs, "retry in", "retrying soon");
      const label = s.last_error ? errorHeadline(s.last_error.code) : s.online ? "Server trouble" : "Offline";
      return { label, detail, tone: "warn" };
    }
    case "offline":
      return { label: "Offline", detail: "sales are kept on this till", tone: "warn" };
    case "circuit_open":
      // The engine keeps batches back until the back office answers again; selling goes on.
      return { label: "Back office failing", detail: countdown(s, nowMs, "retrying in", "retrying soon"), tone: "warn" };
    case "auth_error":
      return { label: "Not authorised", detail: "re-enrol this till in Settings", tone: "error" };
    case "diverged":
      return {
        label: "Sync stopped",
        detail: "this till's history differs from the back office — see Settings",
        tone: "error",
      };
    case "journal_break":
      return {
        label: "Sync stopped",
        detail: s.last_error?.message ?? "the back office refused this till's push chain",
        tone: "error",
      };
    case "paused":
      return { label: "Sync paused", detail: null, tone: "muted" };
    case "not_enrolled":
      return { label: "Not connected", detail: "no back office", tone: "muted" };
    case "stopped":
      // e.g. a sync setting in force was refused: its message names the setting and the value.
      return { label: "Sync stopped", detail: s.last_error?.message ?? null, tone: "error" };
  }
}

/**
 * The clock warning, or null when the offset is unknown or small. `clock_offset_ms` is the
 * server's clock minus this till's: positive means this till is behind.
 */
export function clockWarning(s: SyncStatus): { short: string; long: string } | null {
  const off = s.clock_offset_ms;
  if (off === null || Math.abs(off) <= CLOCK_WARN_MS) return null;
  const mins = Math.round(Math.abs(off) / 60000);
  const dir = off > 0 ? "behind" : "ahead";
  return {
    short: `Clock ${mins} min ${dir}`,
    long: `This till's clock is ${formatDuration(Math.abs(off) / 1000)} ${dir === "ahead" ? "ahead of" : "behind"} the back office. Ask IT to set the time.`,
  };
}

/** The progress line while a backlog drains, or null when nothing is draining. */
export function describeProgress(s: SyncStatus): { fraction: number; text: string } | null {
  const p = s.progress;
  if (!p || p.total <= 0) return null;
  const fraction = Math.min(1, Math.max(0, p.done / p.total));
  let text = `${p.done.toLocaleString("en")} of ${p.total.toLocaleString("en")} sent`;
  if (s.eta_secs !== null) text += ` · about ${formatDuration(s.eta_secs)} left`;
  if (s.throughput_per_s !== null && s.throughput_per_s > 0) text += ` · ${Math.round(s.throughput_per_s)}/s`;
  return { fraction, text };
}

/** How long sync may fail before the unsent sales may be carried to the back office by file. */
export const EXPORT_AFTER_MS = 60 * 60 * 1000;

/**
 * Whether to offer exporting the unsent sales to a file (`till-server import-queue` takes it):
 * there are some, and sync has failed for long — the engine stopped on an error, or it keeps
 * failing and the last success is over an hour old (or there never was one).
 */
export function exportOffered(s: SyncStatus, nowMs: number): boolean {
  if (s.pending === 0) return false;
  if (s.state === "stopped" || s.state === "auth_error") return true;
  if (s.state !== "offline" && s.state !== "backing_off" && s.state !== "circuit_open") return false;
  return s.last_success_at_ms === null || nowMs - s.last_success_at_ms >= EXPORT_AFTER_MS;
}

/** A snapshot for the moments before the shell has answered (never shown as "in sync"). */
export function initialStatus(): SyncStatus {
  return {
    state: "stopped",
    online: false,
    pending: 0,
    failed: 0,
    conflicts: 0,
    progress: null,
    throughput_per_s: null,
    eta_secs: null,
    last_success_at_ms: null,
    next_retry_at_ms: null,
    last_error: null,
    clock_offset_ms: null,
    completed_cycles: 0,
    cleartext: false,
  };
}
