import { describe, expect, it } from "vitest";
import type { SyncStatus } from "../../src/lib/bindings/SyncStatus";
import { initialStatus } from "../../src/lib/status";
import { answered, failed, observed, pressed } from "../../src/lib/syncnow";

const s = (over: Partial<SyncStatus>): SyncStatus => ({ ...initialStatus(), state: "idle", online: true, completed_cycles: 4, ...over });

describe("Sync now", () => {
  it("is busy from the press until a later cycle has ended", () => {
    let v = pressed(s({}));
    expect(v.phase).toBe("busy");
    v = answered(v, { accepted: true, reason: null });
    expect(v.phase).toBe("busy");
    v = observed(v, s({ state: "syncing" }));
    expect(v.phase, "the cycle has not ended").toBe("busy");
    v = observed(v, s({ state: "syncing", completed_cycles: 5 }));
    expect(v.phase, "a follow-up cycle is still running").toBe("busy");
    v = observed(v, s({ completed_cycles: 5 }));
    expect(v).toEqual({ phase: "done", ok: true, message: "Up to date" });
  });

  it("ignores snapshots of cycles that ended before the press", () => {
    const v = observed(pressed(s({ completed_cycles: 9 })), s({ completed_cycles: 9 }));
    expect(v.phase).toBe("busy");
  });

  it("says why when the shell refuses", () => {
    const v = answered(pressed(s({})), { accepted: false, reason: "This till is not enrolled" });
    expect(v).toEqual({ phase: "refused", message: "This till is not enrolled" });
    expect(failed({ code: "ipc_error", message: "gone" })).toEqual({ phase: "refused", message: "gone" });
  });

  it("reports the cycle's error as the result", () => {
    const v = observed(pressed(s({})), s({ state: "backing_off", completed_cycles: 5, last_error: { code: "server_unreachable", message: "connection refused" } }));
    expect(v, "in a few words; the address and library detail are in the details").toEqual({ phase: "done", ok: false, message: "Sync failed: Back office unreachable" });
  });

  it("mentions what is still pending or needs review", () => {
    expect(observed(pressed(s({})), s({ completed_cycles: 5, pending: 3 }))).toMatchObject({ message: "Synced — 3 still pending" });
    expect(observed(pressed(s({})), s({ completed_cycles: 5, conflicts: 1 }))).toMatchObject({ message: "Synced — some items need review" });
  });
});
