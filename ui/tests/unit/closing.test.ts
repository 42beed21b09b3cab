import { describe, expect, it } from "vitest";
import { drainProgress, notSent, unsentHeadline } from "../../src/lib/closing";
import { initialStatus } from "../../src/lib/status";

describe("the question before closing", () => {
  it("counts the sales not yet at the back office", () => {
    expect(unsentHeadline({ sales: 12, pending: 12 })).toBe("12 sales are not yet at the back office");
    expect(unsentHeadline({ sales: 1, pending: 1 })).toBe("1 sale is not yet at the back office");
  });

  it("names the other changes apart, and alone when no sale waits", () => {
    expect(unsentHeadline({ sales: 12, pending: 13 })).toBe("12 sales are not yet at the back office (and 1 other change)");
    expect(unsentHeadline({ sales: 0, pending: 2 })).toBe("2 changes are not yet at the back office");
  });

  it("says why they could not be sent in one sentence, whatever the reason ends with", () => {
    expect(notSent("sync is paused")).toBe("They could not be sent: sync is paused.");
    expect(notSent("The back office refused this till's token.")).toBe("They could not be sent: The back office refused this till's token.");
  });

  it("shows the drain's progress, or what is left before a batch starts", () => {
    expect(drainProgress({ ...initialStatus(), pending: 40, progress: { done: 10, total: 40 } })).toBe("Sending… 10 of 40 sent");
    expect(drainProgress({ ...initialStatus(), pending: 40 })).toBe("Sending… 40 left");
  });
});
