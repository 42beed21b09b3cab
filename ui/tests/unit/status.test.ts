import { describe, expect, it } from "vitest";
import type { SyncStatus } from "../../src/lib/bindings/SyncStatus";
import { EXPORT_AFTER_MS, clockWarning, describeProgress, describeState, errorHeadline, exportOffered, formatDuration, initialStatus, relativeTime } from "../../src/lib/status";

const NOW = 1_700_000_000_000;
const status = (over: Partial<SyncStatus>): SyncStatus => ({ ...initialStatus(), online: true, ...over });

describe("describeState", () => {
  it("says 'In sync' only when idle with nothing pending", () => {
    expect(describeState(status({ state: "idle" }), NOW)).toMatchObject({ label: "In sync", tone: "ok" });
    expect(describeState(status({ state: "idle", pending: 2 }), NOW).label).not.toBe("In sync");
  });

  it("names every engine state in words a cashier understands", () => {
    const cases: Array<[SyncStatus["state"], string, string]> = [
      ["syncing", "Syncing", "busy"],
      ["offline", "Offline", "warn"],
      ["auth_error", "Not authorised", "error"],
      ["paused", "Sync paused", "muted"],
      ["not_enrolled", "Not connected", "muted"],
      ["stopped", "Sync stopped", "error"],
    ];
    for (const [state, label, tone] of cases) {
      expect(describeState(status({ state }), NOW), state).toMatchObject({ label, tone });
    }
  });

  it("counts down to the next retry while backing off", () => {
    const s = status({ state: "backing_off", online: false, next_retry_at_ms: NOW + 42_000 });
    expect(describeState(s, NOW).detail).toBe("retry in 42 s");
    expect(describeState(s, NOW + 40_500).detail).toBe("retry in 2 s");
    expect(describeState(s, NOW + 60_000).detail, "never a negative countdown").toBe("retry in 0 s");
    expect(describeState(s, NOW).label).toBe("Offline");
    expect(describeState({ ...s, online: true }, NOW).label).toBe("Server trouble");
  });

  it("says the back office is failing while the circuit is open, with the countdown to the next try", () => {
    const s = status({ state: "circuit_open", online: false, next_retry_at_ms: NOW + 40_000 });
    expect(describeState(s, NOW)).toMatchObject({ label: "Back office failing", detail: "retrying in 40 s", tone: "warn" });
    expect(describeState(s, NOW + 90_000).detail, "never a negative countdown").toBe("retrying in 0 s");
    expect(describeState({ ...s, next_retry_at_ms: null }, NOW).detail).toBe("retrying soon");
  });

  it("names a failure in a few words while backing off, never its raw message", () => {
    const s = status({
      state: "backing_off", online: false, next_retry_at_ms: NOW + 20_000,
      last_error: { code: "server_unreachable", message: "cannot reach the server: error sending request for url (http://10.0.0.5:8787/v1/push)" },
    });
    expect(describeState(s, NOW)).toMatchObject({ label: "Back office unreachable", detail: "retry in 20 s" });
    expect(errorHeadline("rate_limited")).toBe("Back office busy");
    expect(errorHeadline("internal"), "a code without words of its own").toBe("Sync error");
  });

  it("tells an auth error to re-enrol", () => {
    expect(describeState(status({ state: "auth_error" }), NOW).detail).toMatch(/re-enrol/);
  });

  it("says plainly that a diverged till stopped and where to look", () => {
    const view = describeState(status({ state: "diverged" }), NOW);
    expect(view).toMatchObject({ label: "Sync stopped", tone: "error" });
    expect(view.detail).toBe("this till's history differs from the back office — see Settings");
  });

  it("shows the back office's words when it refused the till's push chain", () => {
    const message = "the back office refused this till's push chain: the push chain breaks at sequence 12";
    const view = describeState(
      status({ state: "journal_break", last_error: { code: "journal_break", message } }),
      NOW,
    );
    expect(view).toMatchObject({ label: "Sync stopped", tone: "error", detail: message });
  });

  it("says which sync setting stopped sync, in the core's words", () => {
    const message = "the environment's TILL_SYNC_BATCH_SIZE \"0\" is not a valid batch_size: it is 1 to 1000 items";
    const view = describeState(status({ state: "stopped", last_error: { code: "invalid_input", message } }), NOW);
    expect(view).toMatchObject({ label: "Sync stopped", tone: "error", detail: message });
  });
});

describe("formatDuration and relativeTime", () => {
  it("formats countdowns and ETAs", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(9.2)).toBe("10 s");
    expect(formatDuration(185)).toBe("3 min 05 s");
    expect(formatDuration(7800)).toBe("2 h 10 min");
  });

  it("says how long ago the last sync was", () => {
    expect(relativeTime(NOW - 10_000, NOW)).toBe("just now");
    expect(relativeTime(NOW - 5 * 60_000, NOW)).toBe("5 min ago");
    expect(relativeTime(NOW - 3 * 3_600_000, NOW)).toBe("3 h ago");
  });
});

describe("clockWarning", () => {
  it("stays quiet within two minutes and when the offset is unknown", () => {
    expect(clockWarning(status({ clock_offset_ms: null }))).toBeNull();
    expect(clockWarning(status({ clock_offset_ms: 119_000 }))).toBeNull();
    expect(clockWarning(status({ clock_offset_ms: -120_000 }))).toBeNull();
  });

  it("warns beyond two minutes, saying which way the till's clock is off", () => {
    expect(clockWarning(status({ clock_offset_ms: 300_000 }))?.short).toBe("Clock 5 min behind");
    expect(clockWarning(status({ clock_offset_ms: -300_000 }))?.short).toBe("Clock 5 min ahead");
    expect(clockWarning(status({ clock_offset_ms: -300_000 }))?.long).toMatch(/ahead of the back office/);
  });
});

describe("describeProgress", () => {
  it("shows nothing when no backlog drains", () => {
    expect(describeProgress(status({ progress: null }))).toBeNull();
    expect(describeProgress(status({ progress: { done: 0, total: 0 } }))).toBeNull();
  });

  it("shows how much is sent and the time left", () => {
    const p = describeProgress(status({ progress: { done: 2500, total: 10000 }, eta_secs: 75 }));
    expect(p?.fraction).toBe(0.25);
    expect(p?.text).toBe("2,500 of 10,000 sent · about 1 min 15 s left");
    const fast = describeProgress(status({ progress: { done: 1, total: 2 }, eta_secs: null, throughput_per_s: 812.6 }));
    expect(fast?.text).toBe("1 of 2 sent · 813/s");
  });
});

describe("exportOffered", () => {
  const failing = (over: Partial<SyncStatus>) =>
    status({ state: "backing_off", online: false, pending: 3, last_success_at_ms: NOW - EXPORT_AFTER_MS, ...over });

  it("offers the export once sync has failed for an hour with sales unsent", () => {
    expect(exportOffered(failing({}), NOW)).toBe(true);
    expect(exportOffered(failing({ state: "offline" }), NOW)).toBe(true);
    expect(exportOffered(failing({ state: "circuit_open" }), NOW), "a back office failing for an hour").toBe(true);
    expect(exportOffered(failing({ last_success_at_ms: null }), NOW), "a till that never synced").toBe(true);
  });

  it("offers it at once when the engine stopped on an error", () => {
    for (const state of ["stopped", "auth_error"] as const) {
      expect(exportOffered(failing({ state, last_success_at_ms: NOW - 1000 }), NOW), state).toBe(true);
    }
  });

  it("does not offer it for a short outage, a working sync, or nothing to send", () => {
    expect(exportOffered(failing({ last_success_at_ms: NOW - EXPORT_AFTER_MS + 1 }), NOW), "under an hour").toBe(false);
    for (const state of ["idle", "syncing", "paused", "not_enrolled", "diverged"] as const) {
      expect(exportOffered(failing({ state }), NOW), state).toBe(false);
    }
    expect(exportOffered(failing({ pending: 0 }), NOW), "nothing unsent").toBe(false);
    expect(exportOffered(initialStatus(), NOW), "before the shell answered").toBe(false);
  });
});
