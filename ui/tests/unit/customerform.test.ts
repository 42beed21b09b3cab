import { describe, expect, it } from "vitest";
import { addTag, adjustPoints, pointsProblem, removeTag } from "../../src/lib/customerForm";

describe("the customer editor's tags and points", () => {
  it("adds a tag trimmed and lower-cased, once", () => {
    expect(addTag(["vip"], "  Wholesale ")).toEqual(["vip", "wholesale"]);
    expect(addTag(["vip"], "VIP")).toEqual(["vip"]);
    expect(addTag(["vip"], "   ")).toEqual(["vip"]);
  });

  it("removes a tag", () => {
    expect(removeTag(["a", "b"], "a")).toEqual(["b"]);
  });

  it("moves points by whole numbers and never below zero", () => {
    expect(adjustPoints(100, 10)).toBe(110);
    expect(adjustPoints(100, -30)).toBe(70);
    expect(adjustPoints(10, -30)).toBe(0);
    expect(adjustPoints(10, 1.5)).toBe(10);
    expect(adjustPoints(null, 5)).toBe(null);
  });

  it("refuses an empty or fractional points box before anything is sent", () => {
    expect(pointsProblem(null)).toMatch(/whole number/);
    expect(pointsProblem(2.5)).toMatch(/whole number/);
    expect(pointsProblem(0)).toBe(null);
    expect(pointsProblem(120)).toBe(null);
  });
});
