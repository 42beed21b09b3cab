// What a line of the Sync activity screen cost on the wire, in a few characters. Pure functions,
// tested without the screen.
import type { ActivityLine } from "./bindings/ActivityLine";

/** "840 B", "3.1 kB", "12 kB", "1.4 MB": decimal units, two or three significant figures. */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB"];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 999.5 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value < 9.95 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** "3.1 kB ↑ 12 kB ↓ · 45 ms p50", or null for a line that made no request. */
export function describeWire(line: ActivityLine): string | null {
  if (line.requests === 0) return null;
  const bytes = `${formatBytes(line.bytes_sent)} ↑ ${formatBytes(line.bytes_received)} ↓`;
  return line.latency_p50_ms === null ? bytes : `${bytes} · ${line.latency_p50_ms} ms p50`;
}

/** The detail behind it: "14 requests · p99 120 ms". */
export function describeRequests(line: ActivityLine): string {
  const requests = `${line.requests} ${line.requests === 1 ? "request" : "requests"}`;
  return line.latency_p99_ms === null ? requests : `${requests} · p99 ${line.latency_p99_ms} ms`;
}
