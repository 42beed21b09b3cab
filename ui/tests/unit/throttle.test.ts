import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { throttle } from "../../src/lib/throttle";

describe("throttle", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs at once, then once more after a burst, never more often than the window", () => {
    const fn = vi.fn();
    const t = throttle(fn, 400);
    t();
    expect(fn, "the first call is not delayed").toHaveBeenCalledTimes(1);
    for (let i = 0; i < 15; i++) {
      vi.advanceTimersByTime(20);
      t();
    }
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(400);
    expect(fn, "the burst's last state is still shown").toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
