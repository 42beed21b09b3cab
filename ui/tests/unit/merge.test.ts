import { describe, expect, it } from "vitest";
import type { ConflictField } from "../../src/lib/bindings/ConflictField";
import { defaultPicks, previewMerge, resolutionFor, unpicked } from "../../src/lib/merge";

// Alan's e-mail was changed on both sides, when is not known; his phone too, this till's edit the
// newer; his note only here. His name is the same on both sides.
const fields: ConflictField[] = [
  { name: "name", mine: "Alan Turing", theirs: "Alan Turing", differs: false, choice: false, default: null, rule: "text" as const, merged: null },
  { name: "email", mine: "alan@example.org", theirs: "a.turing@bletchley.example", differs: true, choice: true, default: null, rule: "text" as const, merged: null },
  { name: "phone", mine: "+44 1", theirs: "+44 2", differs: true, choice: true, default: "mine", rule: "text" as const, merged: null },
  { name: "note", mine: "Pays by card", theirs: null, differs: true, choice: true, default: "mine", rule: "text" as const, merged: null },
];
const officeOnly: ConflictField = { name: "note", mine: null, theirs: "VIP", differs: true, choice: false, default: "theirs", rule: "text" as const, merged: null };

describe("conflict preview", () => {
  it("starts from the core's default for each choice and leaves the rest for the manager", () => {
    expect(defaultPicks(fields)).toEqual({ phone: "mine", note: "mine" });
    expect(unpicked(fields, defaultPicks(fields)), "both sides changed the e-mail: a person picks").toEqual(["email"]);
    expect(resolutionFor(fields, defaultPicks(fields)), "nothing is sent until then").toBeNull();
  });

  it("previews each field from the chosen side and keeps shared values", () => {
    const preview = previewMerge(fields, { email: "mine", phone: "theirs", note: "mine" });
    expect(preview).toEqual({ name: "Alan Turing", email: "alan@example.org", phone: "+44 2", note: "Pays by card" });
    expect(previewMerge(fields, {}).email, "a field still to pick has no result yet").toBeUndefined();
  });

  it("previews a cleared field as cleared when the cleared side is picked", () => {
    expect(previewMerge(fields, { note: "theirs" }).note).toBeNull();
  });

  it("takes the back office's change of a field this till never changed, without asking", () => {
    const withOffice = [fields[0], officeOnly];
    expect(defaultPicks(withOffice)).toEqual({});
    expect(previewMerge(withOffice, {}).note).toBe("VIP");
    expect(resolutionFor(withOffice, {})).toEqual({ kind: "keep_theirs" });
  });

  it("sends a whole-side resolution when all differing fields come from one side", () => {
    expect(resolutionFor(fields, { email: "mine", phone: "mine", note: "mine" })).toEqual({ kind: "keep_mine" });
    expect(resolutionFor(fields, { email: "theirs", phone: "theirs", note: "theirs" })).toEqual({ kind: "keep_theirs" });
  });

  it("sends per-field picks naming every differing field when the sides are mixed", () => {
    expect(resolutionFor(fields, { email: "mine", phone: "theirs", note: "theirs" })).toEqual({
      kind: "fields",
      picks: { email: "mine", phone: "theirs", note: "theirs" },
    });
  });

  it("takes this till's change of a counter both sides changed onto the office's, never overwriting it", () => {
    const points: ConflictField = {
      name: "loyalty_points", mine: "110", theirs: "105", differs: true, choice: true, default: "mine", rule: "counter", merged: "115",
    };
    expect(previewMerge([points], { loyalty_points: "mine" }).loyalty_points, "+10 here and +5 there").toBe("115");
    expect(resolutionFor([points], { loyalty_points: "mine" }), "keep mine would lose the office's +5").toEqual({
      kind: "fields",
      picks: { loyalty_points: "mine" },
    });
    expect(resolutionFor([points], { loyalty_points: "theirs" })).toEqual({ kind: "keep_theirs" });
  });
});
