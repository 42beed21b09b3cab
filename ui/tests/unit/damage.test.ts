import { describe, expect, it } from "vitest";
import type { StoreDamage } from "../../src/lib/bindings/StoreDamage";
import { damageHeadline, damageSalvage } from "../../src/lib/damage";

const damage = (salvaged: StoreDamage["salvaged"], salvage_failed: string | null = null): StoreDamage => ({
  file: "till.db.damaged-1700000000000",
  path: "/data/till/till.db.damaged-1700000000000",
  detected_at_ms: 1_700_000_000_000,
  detail: "file is not a database",
  salvaged,
  salvage_failed,
});

describe("the damaged store's notice", () => {
  it("names the file set aside", () => {
    expect(damageHeadline(damage(null))).toBe("The store was damaged and set aside as till.db.damaged-1700000000000, untouched.");
  });

  it("says the salvage is under way until it is done", () => {
    expect(damageSalvage(damage(null))).toMatch(/being salvaged/);
  });

  it("says the salvage failed, and that the register sells on", () => {
    expect(damageSalvage(damage(null, "the database /data/till/recovering-1/till.db is damaged"))).toBe(
      "Its sales could not be salvaged; the register sells on in a fresh store, and `tillctl recover` can try again.",
    );
  });

  it("counts the tickets salvaged, and those that could not be read", () => {
    expect(damageSalvage(damage({ tickets: 12, queued: 3, unreadable_tickets: 0 }))).toBe(
      "Its sales were salvaged (12 tickets) into a fresh store; the register sells on.",
    );
    expect(damageSalvage(damage({ tickets: 1, queued: 0, unreadable_tickets: 1 }))).toBe(
      "Its sales were salvaged (1 ticket) into a fresh store; the register sells on. 1 ticket could not be read.",
    );
  });
});
