import { describe, expect, it } from "vitest";
import { qrPath } from "../../src/lib/qr";

describe("qrPath", () => {
  it("draws each run of dark modules in a row as one rectangle", () => {
    expect(qrPath(["110", "011"])).toBe("M0 0h2v1h-2zM1 1h2v1h-2z");
  });

  it("draws nothing for a light or empty symbol", () => {
    expect(qrPath(["000", "000"])).toBe("");
    expect(qrPath([])).toBe("");
  });
});
