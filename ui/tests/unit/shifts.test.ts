import { describe, expect, it } from "vitest";
import type { ShiftView } from "../../src/lib/bindings/ShiftView";
import { countsOf, figureName, mismatchLines, reconciliationWords, shortTime, STATE_WORD, stillOpen } from "../../src/lib/shifts";

const fmt = (minor: number) => `€${(minor / 100).toFixed(2)}`;

describe("a shift's reconciliation in words", () => {
  it("names each state", () => {
    expect(reconciliationWords("pending")).toBe("Not checked by the back office yet");
    expect(reconciliationWords("matched")).toBe("Matches the back office");
    expect(STATE_WORD.mismatch).toBe("Mismatch");
  });

  it("says what differs: tickets by number, then each figure", () => {
    const lines = mismatchLines(
      {
        missing_tickets: [12, 13],
        unexpected_tickets: [40],
        differences: [
          { figure: "tickets", till: 42, back_office: 40 },
          { figure: "cash_in", till: 2000, back_office: 0 },
          { figure: "tender:card", till: 36750, back_office: 35500 },
          { figure: "tax:2000", till: 400, back_office: 390 },
        ],
      },
      fmt,
    );
    expect(lines).toEqual([
      "Not in the back office: #12, #13",
      "Only in the back office: #40",
      "Tickets: 42 here, 40 in the back office",
      "Cash in: €20.00 here, €0.00 in the back office",
      "Card (net): €367.50 here, €355.00 in the back office",
      "Tax 20%: €4.00 here, €3.90 in the back office",
    ]);
    expect(mismatchLines(null, fmt)).toEqual([]);
  });

  it("keeps a figure it does not know by its own name", () => {
    expect(figureName("rounding")).toBe("rounding");
  });
});

describe("counting the drawer", () => {
  it("takes whole counts, skips blanks and zeros, and refuses anything else", () => {
    expect(countsOf([5000, 1000, 200], { 5000: "2", 1000: " ", 200: "0" })).toEqual([{ value: 5000, count: 2 }]);
    expect(countsOf([5000], { 5000: "1.5" })).toBeNull();
    expect(countsOf([5000], { 5000: "-1" })).toBeNull();
  });
});

describe("the shift as the core sends it", () => {
  it("is open only while its state says so: the last closed one is not the open shift", () => {
    const shift = { state: "open" } as ShiftView;
    expect(stillOpen(shift)).toBe(shift);
    expect(stillOpen({ state: "closed" } as ShiftView)).toBeNull();
    expect(stillOpen(null)).toBeNull();
  });

  it("shows RFC 3339 times in the store's locale, and no time as a dash", () => {
    expect(shortTime("2026-03-01T09:05:00Z", "en-GB")).toMatch(/01\/03\/2026/);
    expect(shortTime(null, "en-GB")).toBe("—");
    expect(shortTime("not a time", "en-GB")).toBe("not a time");
  });
});
