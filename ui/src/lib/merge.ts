// The preview of a conflict resolution: which value each field ends up with. Which fields are a
// choice, and the side each starts from, are the core's (`ConflictField.choice`, `.default`).
import type { ConflictField } from "./bindings/ConflictField";
import type { ConflictResolution } from "./bindings/ConflictResolution";
import type { Side } from "./bindings/Side";

export type Picks = Record<string, Side>;

/** The picks a review starts from: the core's default for each field the manager chooses. */
export function defaultPicks(fields: ConflictField[]): Picks {
  const picks: Picks = {};
  for (const f of fields) if (f.choice && f.default) picks[f.name] = f.default;
  return picks;
}

/** The side a differing field takes: the pick for a choice, the core's default otherwise. */
function sideOf(f: ConflictField, picks: Picks): Side | null {
  if (f.choice) return picks[f.name] ?? null;
  return f.default ?? "theirs";
}

/** The fields the manager still has to pick. */
export function unpicked(fields: ConflictField[], picks: Picks): string[] {
  return fields.filter((f) => f.differs && sideOf(f, picks) === null).map((f) => f.name);
}

/**
 * Each field's resulting value: the shared value where the sides agree, the side taken where
 * they differ; `undefined` while the field waits for a pick.
 */
export function previewMerge(fields: ConflictField[], picks: Picks): Record<string, string | null | undefined> {
  const out: Record<string, string | null | undefined> = {};
  for (const f of fields) {
    const side = f.differs ? sideOf(f, picks) : "mine";
    // This till's side of a set or a counter both changed is its change applied to the office's.
    out[f.name] = side === null ? undefined : side === "mine" ? (f.merged ?? f.mine) : f.theirs;
  }
  return out;
}

/**
 * The resolution to send, naming every differing field (whole-side when they all come from one
 * side); null while a choice is not picked.
 */
export function resolutionFor(fields: ConflictField[], picks: Picks): ConflictResolution | null {
  const sides: Record<string, Side> = {};
  for (const f of fields.filter((x) => x.differs)) {
    const side = sideOf(f, picks);
    if (side === null) return null;
    sides[f.name] = side;
  }
  const taken = new Set(Object.values(sides));
  // Keeping this till's whole version would overwrite the office's change of a set or a counter.
  const combines = fields.some((f) => f.merged !== null && sides[f.name] === "mine");
  if (taken.size === 1 && taken.has("mine") && !combines) return { kind: "keep_mine" };
  if (!taken.has("mine")) return { kind: "keep_theirs" };
  return { kind: "fields", picks: sides };
}
