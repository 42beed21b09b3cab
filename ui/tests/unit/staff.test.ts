import { describe, expect, it } from "vitest";
import { idleLockDue, MAX_PIN_DIGITS, pinAfterKey } from "../../src/lib/idle";
import { askedFor, newApprovals, withApproval } from "../../src/lib/approval.svelte";

describe("the idle lock", () => {
  const at = (o: Partial<Parameters<typeof idleLockDue>[0]>) =>
    idleLockDue({ signedIn: true, lastActivityMs: 0, nowMs: 300_000, lockAfterSeconds: 300, ...o });

  it("locks once the idle time has passed, not a moment before", () => {
    expect(at({})).toBe(true);
    expect(at({ nowMs: 299_999 })).toBe(false);
  });

  it("never locks when it is off, or when nobody is signed in", () => {
    expect(at({ lockAfterSeconds: 0, nowMs: 10 ** 9 })).toBe(false);
    expect(at({ signedIn: false })).toBe(false);
  });
});

describe("the PIN pad's keys", () => {
  it("appends digits up to the longest PIN and deletes the last with Backspace", () => {
    let pin = "";
    for (const k of "123456789") pin = pinAfterKey(pin, k);
    expect(pin).toBe("12345678".slice(0, MAX_PIN_DIGITS));
    expect(pinAfterKey("12", "Backspace")).toBe("1");
    expect(pinAfterKey("", "Backspace")).toBe("");
    expect(pinAfterKey("12", "a")).toBe("12");
  });
});

describe("a manager's approval", () => {
  const refused = (code: string) => Promise.reject({ code, message: `${code} said` });

  it("runs once without a PIN when the core needs no approval", async () => {
    const into = newApprovals();
    const pins: Array<string | null> = [];
    const out = await withApproval("void", "why", async (pin) => (pins.push(pin), "done"), into);
    expect(out).toBe("done");
    expect(pins).toEqual([null]);
    expect(into.pending).toBeNull();
  });

  it("asks for a PIN on approval_required, shows a wrong one, and runs again with the right one", async () => {
    const into = newApprovals();
    const pins: Array<string | null> = [];
    const answer = withApproval("refund", "Customer return", (pin) => {
      pins.push(pin);
      if (pin === null) return refused("approval_required");
      if (pin !== "9999") return refused("not_a_manager");
      return Promise.resolve("refunded");
    }, into);
    await Promise.resolve();
    await Promise.resolve();
    const asked = into.pending;
    expect(asked?.action).toBe("refund");
    expect(asked?.reason).toBe("Customer return");
    await expect(asked!.submit("1234")).rejects.toMatchObject({ code: "not_a_manager" });
    expect(into.pending, "the dialog stays for another try").toBe(asked);
    await asked!.submit("9999");
    expect(await answer).toBe("refunded");
    expect(into.pending).toBeNull();
    expect(pins).toEqual([null, "1234", "9999"]);
  });

  it("a cancelled approval resolves null and runs nothing more", async () => {
    const into = newApprovals();
    let runs = 0;
    const answer = withApproval("no_sale", "change", () => (runs++, refused("approval_required")), into);
    await Promise.resolve();
    await Promise.resolve();
    into.pending!.cancel();
    expect(await answer).toBeNull();
    expect(runs).toBe(1);
  });

  it("reads what the core asks approval for from its message", () => {
    expect(askedFor("price_override needs a manager's approval: price override: line 1 (Scone) at €1.50 instead of €2.50")).toEqual({
      action: "price_override",
      reason: "price override: line 1 (Scone) at €1.50 instead of €2.50",
    });
    expect(askedFor("teleport needs a manager's approval: why"), "an action the dialog cannot name").toBeNull();
    expect(askedFor("the cart is empty")).toBeNull();
  });

  it("shows the approval the core asked for rather than the one the screen expected", async () => {
    const into = newApprovals();
    const answer = withApproval("discount", "Discount above the store's limit", (pin) =>
      pin === null ? Promise.reject({ code: "approval_required", message: "price_override needs a manager's approval: price override: line 1 (Tea)" }) : Promise.resolve("sold"), into);
    await Promise.resolve();
    await Promise.resolve();
    expect(into.pending?.action).toBe("price_override");
    expect(into.pending?.reason).toBe("price override: line 1 (Tea)");
    await into.pending!.submit("9999");
    expect(await answer).toBe("sold");
  });

  it("passes any other refusal on", async () => {
    await expect(withApproval("void", "x", () => refused("already_reversed"), newApprovals())).rejects.toMatchObject({ code: "already_reversed" });
  });
});
