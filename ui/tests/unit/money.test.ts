import { describe, expect, it } from "vitest";
import { formatMoney, formatRate, parseMoney, parsePercentBp, splitMinor } from "../../src/lib/money";

const gbp = { currency: { code: "GBP", exponent: 2 }, locale: "en-GB" };
const eurDe = { currency: { code: "EUR", exponent: 2 }, locale: "de-DE" };
const jpy = { currency: { code: "JPY", exponent: 0 }, locale: "ja-JP" };
const kwd = { currency: { code: "KWD", exponent: 3 }, locale: "en-US" };

describe("formatMoney", () => {
  it("formats minor units in the store's locale and currency", () => {
    expect(formatMoney(123456, gbp)).toBe("£1,234.56");
    expect(formatMoney(5, gbp)).toBe("£0.05");
    expect(formatMoney(0, gbp)).toBe("£0.00");
    expect(formatMoney(123456, eurDe).replace(/\u00a0/g, " ")).toBe("1.234,56 €");
  });

  it("respects the currency's exponent: none for JPY, three for KWD", () => {
    expect(formatMoney(1500, jpy)).toMatch(/^[￥¥]1,500$/);
    expect(formatMoney(1234, kwd).replace(/\u00a0/g, " ")).toBe("KWD 1.234");
  });

  it("shows negative amounts with a sign, including amounts under one unit", () => {
    expect(formatMoney(-250, gbp)).toBe("-£2.50");
    expect(formatMoney(-5, gbp)).toBe("-£0.05");
  });

  it("keeps every digit of large amounts exact (no floating-point division)", () => {
    // 9,007,199,254,740.91: dividing by 100 in floating point would lose the last digit.
    expect(formatMoney(900719925474091, gbp)).toBe("£9,007,199,254,740.91");
    expect(splitMinor(900719925474091, 2)).toEqual({ negative: false, whole: "9007199254740", fraction: "91" });
  });

  it("refuses what is not an integer amount rather than showing a wrong figure", () => {
    expect(() => formatMoney(1.5, gbp)).toThrow(RangeError);
  });

  it("falls back to the currency code when the locale or code is unknown", () => {
    const odd = { currency: { code: "??", exponent: 2 }, locale: "en" };
    expect(formatMoney(100, odd)).toContain("1.00");
  });
});

describe("parseMoney", () => {
  it("reads what a cashier types into minor units", () => {
    expect(parseMoney("12.50", 2)).toBe(1250);
    expect(parseMoney("12,5", 2)).toBe(1250);
    expect(parseMoney("7", 2)).toBe(700);
    expect(parseMoney("1 234.00", 2)).toBe(123400);
    expect(parseMoney("0.05", 2)).toBe(5);
    expect(parseMoney("1500", 0)).toBe(1500);
  });

  it("rejects input that is not an amount of this currency", () => {
    expect(parseMoney("", 2)).toBeNull();
    expect(parseMoney("abc", 2)).toBeNull();
    expect(parseMoney("1.234", 2)).toBeNull();
    expect(parseMoney("-5", 2)).toBeNull();
    expect(parseMoney("1.5", 0)).toBeNull();
    expect(parseMoney("9999999999999999", 2)).toBeNull();
  });
});

describe("percentages", () => {
  it("reads percentages into basis points, within (0, 100]", () => {
    expect(parsePercentBp("10")).toBe(1000);
    expect(parsePercentBp("12.5")).toBe(1250);
    expect(parsePercentBp("7,25 %")).toBe(725);
    expect(parsePercentBp("100")).toBe(10000);
    expect(parsePercentBp("0")).toBeNull();
    expect(parsePercentBp("101")).toBeNull();
    expect(parsePercentBp("x")).toBeNull();
  });

  it("formats basis points as a short percentage", () => {
    expect(formatRate(2000)).toBe("20%");
    expect(formatRate(550)).toBe("5.5%");
    expect(formatRate(725)).toBe("7.25%");
    expect(formatRate(0)).toBe("0%");
  });
});
