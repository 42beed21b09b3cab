import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeAll, describe, expect, it } from "vitest";
import StatusBar from "../../src/components/StatusBar.svelte";
import { app } from "../../src/lib/app.svelte";
import type { SyncStatus } from "../../src/lib/bindings/SyncStatus";
import { initialStatus } from "../../src/lib/status";

declare global {
  interface Window { __mock: { emitState: (s: Partial<SyncStatus>) => void; calls: Array<{ cmd: string }> } }
}

const snapshot = (over: Partial<SyncStatus>): SyncStatus => ({ ...initialStatus(), state: "idle", online: true, ...over });

describe("StatusBar", () => {
  beforeAll(async () => {
    await app.start();
  });

  it("shows the pending, failed and conflict counts, and makes failed and conflicts stand out", async () => {
    render(StatusBar);
    app.applyStatus(snapshot({ pending: 3, failed: 1, conflicts: 2 }));
    await waitFor(() => expect(screen.getByTestId("pending-count").textContent).toMatch(/3\s+pending/));
    expect(screen.getByTestId("failed-count").className).toMatch(/alert/);
    expect(screen.getByTestId("conflict-count").className).toMatch(/alert/);
    expect(screen.getByTestId("pending-count").className, "pending is normal work, not an alarm").not.toMatch(/alert/);
    expect(screen.getByTestId("conflict-count").textContent).toMatch(/2\s+conflicts/);
  });

  it("follows sync://state events without polling", async () => {
    render(StatusBar);
    window.__mock.emitState({ state: "offline", online: false, pending: 7, failed: 0, conflicts: 0 });
    await waitFor(() => expect(screen.getByTestId("sync-state").textContent).toMatch(/Offline/));
    expect(screen.getByTestId("pending-count").textContent).toMatch(/7/);
    expect(screen.getByTestId("failed-count").className).not.toMatch(/alert/);
    const polls = window.__mock.calls.filter((c) => c.cmd === "sync_status").length;
    expect(polls, "sync_status is read once, at start-up").toBe(1);
  });

  it("counts down while backing off and shows the progress with its ETA while draining", async () => {
    render(StatusBar);
    app.now = 1_000_000;
    app.applyStatus(snapshot({ state: "backing_off", online: false, next_retry_at_ms: 1_030_000 }));
    await waitFor(() => expect(screen.getByTestId("sync-detail").textContent).toMatch(/retry in 30 s/));
    app.now = 1_020_000;
    await waitFor(() => expect(screen.getByTestId("sync-detail").textContent).toMatch(/retry in 10 s/));
    app.applyStatus(snapshot({ state: "syncing", progress: { done: 30, total: 120 }, eta_secs: 9 }));
    await waitFor(() => expect(screen.getByTestId("sync-progress").textContent).toMatch(/30 of 120 sent · about 9 s left/));
  });

  it("warns about the clock only when it is more than two minutes off", async () => {
    render(StatusBar);
    app.applyStatus(snapshot({ clock_offset_ms: 60_000 }));
    await Promise.resolve();
    expect(screen.queryByTestId("clock-warning")).toBeNull();
    app.applyStatus(snapshot({ clock_offset_ms: -400_000 }));
    await waitFor(() => expect(screen.getByTestId("clock-warning").textContent).toMatch(/7 min ahead/));
  });

  it("shows plain http in red while the enrolment uses it, and nothing otherwise", async () => {
    render(StatusBar);
    app.applyStatus(snapshot({ cleartext: false }));
    await Promise.resolve();
    expect(screen.queryByTestId("cleartext-warning")).toBeNull();
    app.applyStatus(snapshot({ cleartext: true }));
    await waitFor(() => expect(screen.getByTestId("cleartext-warning").textContent).toMatch(/Plain http/));
    expect(screen.getByTestId("cleartext-warning").getAttribute("role"), "announced, not just coloured").toBe("alert");
  });

  it("turns Sync now busy at once, then shows the result of the cycle", async () => {
    render(StatusBar);
    window.__mock.emitState({ state: "idle", online: true, pending: 0, failed: 0, conflicts: 0, progress: null, last_error: null });
    const button = screen.getByTestId("sync-now");
    await fireEvent.click(button);
    expect(button.getAttribute("aria-busy"), "busy before the shell has answered").toBe("true");
    await waitFor(() => expect(screen.getByTestId("sync-now-result").textContent).toBe("Synced — some items need review"), { timeout: 3000 });
    expect(screen.getByTestId("sync-now").getAttribute("aria-busy")).toBe("false");
  });
});
