import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { beforeAll, describe, expect, it } from "vitest";
import ConflictReview from "../../src/components/ConflictReview.svelte";
import { app } from "../../src/lib/app.svelte";
import type { ConflictDetail } from "../../src/lib/bindings/ConflictDetail";

/** The fake shell's data, as the component tests share it. */
const db = () => (window as unknown as { __mock: { db: { conflicts: ConflictDetail[]; lastResolution?: unknown } } }).__mock.db;

/** Z report #3, whose ticket #7 the back office never received, as the core describes it. */
const zReport = (): ConflictDetail => {
  const row = (name: string, mine: string, theirs: string) => ({ name, mine, theirs, differs: true, choice: false, default: "theirs" as const, rule: "text" as const, merged: null });
  return {
    id: "41", entity_kind: "shift", entity_id: "0192f0c4-0000-7000-8000-0000000000f1", entity_label: "Z report #3",
    reason: "shift_mismatch", policy: "manual", detected_at_ms: Date.now() - 60_000, settlement: "acknowledge",
    server_version: null, mine_at_ms: null, theirs_at_ms: null,
    fields: [row("ticket #7", "counted", "never received"), row("tickets", "5", "4"), row("cash sales", "£42.10", "£38.60")],
  };
};

describe("ConflictReview", () => {
  beforeAll(async () => {
    await app.start();
  });

  it("shows a shift's differences as a table and acknowledges it without choices", async () => {
    db().conflicts.push(zReport());
    render(ConflictReview);
    const item = await waitFor(() => screen.getAllByTestId("conflict-item").find((b) => b.textContent?.includes("Z report #3")));
    expect(item, "the shift is listed").toBeTruthy();
    expect(within(item as HTMLElement).getByTestId("conflict-kind").textContent).toBe("Shift");
    expect(item?.textContent).toMatch(/Z report differs from the back office/);
    await fireEvent.click(item as HTMLElement);

    await waitFor(() => expect(screen.getByTestId("conflict-title").textContent).toBe("Z report #3"));
    const rows = screen.getAllByTestId("field-row").map((r) => Array.from(r.children).map((c) => c.textContent?.trim()));
    expect(rows, "each difference: this till, then the back office").toEqual([
      ["ticket #7", "counted", "never received"],
      ["tickets", "5", "4"],
      ["cash sales", "£42.10", "£38.60"],
    ]);
    expect(screen.queryByText("Result"), "nothing is merged, so no result column").toBeNull();
    expect(screen.queryByTestId("pick-mine"), "nothing to pick").toBeNull();
    expect(screen.queryByTestId("resolve")).toBeNull();

    await fireEvent.click(screen.getByTestId("acknowledge"));
    await waitFor(() => expect(screen.getByTestId("resolved-note").textContent).toMatch(/Resolved “Z report #3”/));
    expect(db().lastResolution).toMatchObject({ id: "41", resolution: { kind: "keep_theirs" } });
  });
});
