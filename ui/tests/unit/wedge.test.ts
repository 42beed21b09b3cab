import { describe, expect, it } from "vitest";
import { WedgeDetector } from "../../src/lib/wedge";

/** Feeds `text` then Enter, `gap` ms apart, and returns what the detector said at Enter. */
function type(d: WedgeDetector, text: string, gap: number, start = 1000): string | null {
  let t = start;
  for (const ch of text) {
    expect(d.feed(ch, t), "no scan is reported before Enter").toBeNull();
    t += gap;
  }
  return d.feed("Enter", t);
}

describe("WedgeDetector", () => {
  it("reports a scan when a barcode arrives a few ms per key and ends with Enter", () => {
    expect(type(new WedgeDetector(), "5012345678900", 4)).toBe("5012345678900");
  });

  it("never takes a person typing for a scanner", () => {
    expect(type(new WedgeDetector(), "5012345678900", 120)).toBeNull();
  });

  it("ignores bursts too short to be a barcode", () => {
    expect(type(new WedgeDetector(), "12", 3)).toBeNull();
  });

  it("starts a new burst after a pause, so slow keys before a scan do not stick to it", () => {
    const d = new WedgeDetector();
    d.feed("a", 0);
    d.feed("b", 300);
    expect(type(d, "96385074", 5, 2000)).toBe("96385074");
  });

  it("does not count an Enter long after the last fast key", () => {
    const d = new WedgeDetector();
    let t = 0;
    for (const ch of "96385074") d.feed(ch, (t += 5));
    expect(d.feed("Enter", t + 1000)).toBeNull();
  });

  it("lets Shift pass inside mixed-case codes but resets on other named keys", () => {
    const d = new WedgeDetector();
    let t = 0;
    for (const k of ["A", "Shift", "B", "C", "1", "2", "3"]) d.feed(k, (t += 3));
    expect(d.feed("Enter", t + 3)).toBe("ABC123");
    for (const k of ["1", "2", "3", "ArrowLeft", "4", "5", "6"]) d.feed(k, (t += 3));
    expect(d.feed("Enter", t + 3), "an arrow key means a person is editing").toBeNull();
  });

  it("is ready for the next scan after each Enter", () => {
    const d = new WedgeDetector();
    expect(type(d, "5012345678900", 3, 0)).toBe("5012345678900");
    expect(type(d, "5012345678917", 3, 100)).toBe("5012345678917");
  });

  it("knows a key inside a code being scanned from a person's key", () => {
    const d = new WedgeDetector();
    expect(d.typingCode(0), "nothing typed yet").toBe(false);
    d.feed("P", 1000);
    d.feed("A", 1004);
    expect(d.typingCode(1008), "the dash of PAN-010 comes 4 ms later").toBe(true);
    expect(d.typingCode(1300), "a key 300 ms later is a person's").toBe(false);
    const held = new WedgeDetector();
    held.feed("+", 2000);
    expect(held.typingCode(2030), "+ held down repeats fast, and is still the quantity key").toBe(false);
  });
});
