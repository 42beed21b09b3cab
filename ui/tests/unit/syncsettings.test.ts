import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeAll, describe, expect, it } from "vitest";
import SyncSettings from "../../src/components/SyncSettings.svelte";
import { app } from "../../src/lib/app.svelte";
import type { SyncSettingView } from "../../src/lib/bindings/SyncSettingView";
import { changes, refusal, sourceLabel, unitSymbol } from "../../src/lib/syncsettings";

const number = (over: Partial<SyncSettingView> = {}): SyncSettingView => ({
  name: "debounce_ms",
  env: "TILL_SYNC_DEBOUNCE_MS",
  doc: "How long after a sale the till waits for more before syncing",
  unit: "milliseconds",
  value: "300",
  source: "default",
  default: "300",
  allowed: "0 to 60000 ms",
  min: 0,
  max: 60000,
  choices: [],
  error: null,
  ...over,
});

const policy = (over: Partial<SyncSettingView> = {}): SyncSettingView => ({
  ...number(),
  name: "customer_policy",
  env: "TILL_SYNC_CUSTOMER_POLICY",
  unit: null,
  value: "field_merge",
  default: "field_merge",
  allowed: "one of field_merge, manual",
  min: null,
  max: null,
  choices: ["field_merge", "manual"],
  ...over,
});

describe("sync settings", () => {
  it("takes a whole number within the row's bounds, and only the row's words", () => {
    for (const ok of ["0", "60000", " 300 "]) expect(refusal(number(), ok), ok).toBeNull();
    for (const bad of ["", "-1", "+5", "60001", "1.5", "ten"]) {
      expect(refusal(number(), bad), bad).toBe("debounce_ms is 0 to 60000 ms");
    }
    expect(refusal(policy(), "manual")).toBeNull();
    expect(refusal(policy(), "Manual")).toBe("customer_policy is one of field_merge, manual");
  });

  it("sends only the rows that changed, never one the environment fixes", () => {
    const rows = [number(), policy({ source: "env", value: "manual" }), number({ name: "pull_limit", value: "500" })];
    expect(changes(rows, { debounce_ms: "300", customer_policy: "field_merge", pull_limit: " 200 " })).toEqual([
      { name: "pull_limit", value: "200" },
    ]);
    expect(changes(rows, {})).toEqual([]);
  });

  it("says where a value comes from and in what unit", () => {
    expect(sourceLabel(number({ source: "env" }))).toBe("set by TILL_SYNC_DEBOUNCE_MS");
    expect(sourceLabel(number({ source: "stored" }))).toBe("saved on this till");
    expect(unitSymbol(number())).toBe("ms");
    expect(unitSymbol(policy())).toBe("");
  });
});

describe("SyncSettings", () => {
  beforeAll(async () => {
    await app.start();
  });

  it("lists every setting, checks what is typed inline and saves only what changed", async () => {
    render(SyncSettings);
    const input = (await screen.findByTestId("sync-input-debounce_ms")) as HTMLInputElement;
    expect(screen.getByTestId("sync-setting-ticket_policy")).toBeTruthy();
    await fireEvent.input(input, { target: { value: "70000" } });
    await waitFor(() => expect(screen.getByTestId("sync-error-debounce_ms").textContent).toBe("debounce_ms is 0 to 60000 ms"));
    expect((screen.getByTestId("save-sync-settings") as HTMLButtonElement).disabled, "a refused value is never sent").toBe(true);
    await fireEvent.input(input, { target: { value: "700" } });
    await waitFor(() => expect(screen.queryByTestId("sync-error-debounce_ms")).toBeNull());
    await fireEvent.click(screen.getByTestId("save-sync-settings"));
    await waitFor(() => expect(screen.getByTestId("sync-source-debounce_ms").textContent).toBe("saved on this till"));
    const window_ = window as unknown as { __mock: { calls: Array<{ cmd: string; args: unknown }> } };
    const saved = window_.__mock.calls.filter((c) => c.cmd === "sync_settings_set");
    expect(saved.map((c) => c.args)).toEqual([{ changes: [{ name: "debounce_ms", value: "700" }] }]);
  });
});
