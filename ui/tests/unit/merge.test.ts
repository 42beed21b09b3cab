import { describe, expect, it } from "vitest";
import type { ConflictField } from "../../src/lib/bindings/ConflictField";
import { defaultPicks, previewMerge, resolutionFor } from "../../src/lib/merge";

const fields: ConflictField[] = [
  { name: "name", mine: "Alan Turing", theirs: "Alan Turing", differs: false },
  { name: "email", mine: "alan@example.org", theirs: "a.turing@bletchley.example", differs: true },
  { name: "phone", mine: "+44 1", theirs: "+44 2", differs: true },
  { name: "note", mine: "Pays by card", theirs: null, differs: true },
];

describe("conflict preview", () => {
  it("starts from the back office's value for every differing field", () => {
    expect(defaultPicks(fields)).toEqual({ email: "theirs", phone: "theirs", note: "theirs" });
  });

  it("previews each field from the chosen side and keeps shared values", () => {
    const preview = previewMerge(fields, { email: "mine", phone: "theirs", note: "mine" });
    expect(preview).toEqual({ name: "Alan Turing", email: "alan@example.org", phone: "+44 2", note: "Pays by card" });
  });

  it("previews a cleared field as cleared when the cleared side is picked", () => {
    expect(previewMerge(fields, { note: "theirs" }).note).toBeNull();
  });

  it("sends a whole-side resolution when all differing fields come from one side", () => {
    expect(resolutionFor(fields, { email: "mine", phone: "mine", note: "mine" })).toEqual({ kind: "keep_mine" });
    expect(resolutionFor(fields, defaultPicks(fields))).toEqual({ kind: "keep_theirs" });
  });

  it("sends per-field picks naming every differing field when the sides are mixed", () => {
    expect(resolutionFor(fields, { email: "mine" })).toEqual({
      kind: "fields",
      picks: { email: "mine", phone: "theirs", note: "theirs" },
    });
  });
});
