import { describe, expect, it } from "vitest";
import type { ActivityLine } from "../../src/lib/bindings/ActivityLine";
import { describeRequests, describeWire, formatBytes } from "../../src/lib/wire";

const line = (over: Partial<ActivityLine>): ActivityLine => ({
  id: 1, since_ms: 0, started_at_ms: 0, duration_ms: 40, cycles: 1, pushed: 0, pulled: 0, conflicts: 0, errors: 0,
  failure: null, bytes_sent: 0, bytes_received: 0, requests: 0, latency_p50_ms: null, latency_p99_ms: null, ...over,
});

describe("formatBytes", () => {
  it("keeps two or three significant figures in decimal units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(840)).toBe("840 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.0 kB");
    expect(formatBytes(3140)).toBe("3.1 kB");
    expect(formatBytes(12_345)).toBe("12 kB");
    expect(formatBytes(999_600), "never 1000 kB").toBe("1.0 MB");
    expect(formatBytes(1_400_000)).toBe("1.4 MB");
  });
});

describe("describeWire", () => {
  it("says the bytes each way and the median latency", () => {
    const l = line({ bytes_sent: 3140, bytes_received: 12_000, requests: 3, latency_p50_ms: 45, latency_p99_ms: 120 });
    expect(describeWire(l)).toBe("3.1 kB ↑ 12 kB ↓ · 45 ms p50");
    expect(describeRequests(l)).toBe("3 requests · p99 120 ms");
  });

  it("says nothing for a line that made no request", () => {
    expect(describeWire(line({ errors: 1 }))).toBeNull();
  });

  it("leaves out a latency it does not have", () => {
    const l = line({ bytes_sent: 500, bytes_received: 200, requests: 1 });
    expect(describeWire(l)).toBe("500 B ↑ 200 B ↓");
    expect(describeRequests(l)).toBe("1 request");
  });
});
