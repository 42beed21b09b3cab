// The Sync panel's decisions, as pure functions: what a value typed into a row may be (the same
// bounds and words the core's table checks, sent with each row), and which rows changed.
import type { SyncSettingChange } from "./bindings/SyncSettingChange";
import type { SyncSettingView } from "./bindings/SyncSettingView";

const UNIT_SYMBOLS = { seconds: "s", milliseconds: "ms", hours: "h", items: "items", faults: "faults" } as const;

/** A row's unit as written after a number ("ms"), or "" for a flag or a policy. */
export function unitSymbol(row: SyncSettingView): string {
  return row.unit ? UNIT_SYMBOLS[row.unit] : "";
}

/** Why `text` is not a value `row` allows, in the core's words; null when it is one. */
export function refusal(row: SyncSettingView, text: string): string | null {
  const word = text.trim();
  const ok =
    row.min !== null && row.max !== null
      ? /^\d+$/.test(word) && Number(word) >= row.min && Number(word) <= row.max
      : row.choices.includes(word);
  return ok ? null : `${row.name} is ${row.allowed}`;
}

/** The rows whose text differs from the value in force; a row the environment fixes never. */
export function changes(rows: SyncSettingView[], drafts: Record<string, string>): SyncSettingChange[] {
  return rows
    .filter((row) => row.source !== "env" && (drafts[row.name] ?? row.value).trim() !== row.value)
    .map((row) => ({ name: row.name, value: (drafts[row.name] ?? row.value).trim() }));
}

/** Where a row's value comes from, in a line. */
export function sourceLabel(row: SyncSettingView): string {
  switch (row.source) {
    case "env":
      return `set by ${row.env}`;
    case "stored":
      return "saved on this till";
    case "flag":
      return "set for one run";
    case "default":
      return "default";
  }
}
