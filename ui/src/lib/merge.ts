// The preview of a conflict resolution: which value each field ends up with.
import type { ConflictField } from "./bindings/ConflictField";
import type { ConflictResolution } from "./bindings/ConflictResolution";
import type { Side } from "./bindings/Side";

export type Picks = Record<string, Side>;

/** The picks a review starts from: the server's value for every differing field. */
export function defaultPicks(fields: ConflictField[]): Picks {
  const picks: Picks = {};
  for (const f of fields) if (f.differs) picks[f.name] = "theirs";
  return picks;
}

/** Each field's resulting value: the pick where the sides differ, the shared value elsewhere. */
export function previewMerge(fields: ConflictField[], picks: Picks): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const f of fields) {
    if (!f.differs) out[f.name] = f.mine;
    else out[f.name] = (picks[f.name] ?? "theirs") === "mine" ? f.mine : f.theirs;
  }
  return out;
}

/** The resolution to send: whole-side when every differing field comes from one side. */
export function resolutionFor(fields: ConflictField[], picks: Picks): ConflictResolution {
  const differing = fields.filter((f) => f.differs);
  const sides = new Set(differing.map((f) => picks[f.name] ?? "theirs"));
  if (sides.size === 1 && sides.has("mine")) return { kind: "keep_mine" };
  if (sides.size <= 1) return { kind: "keep_theirs" };
  const out: { [key in string]?: Side } = {};
  for (const f of differing) out[f.name] = picks[f.name] ?? "theirs";
  return { kind: "fields", picks: out };
}
