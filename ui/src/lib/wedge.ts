// Tells a keyboard-wedge barcode scanner from a person. A scanner "types" the whole code within a
// few milliseconds per key and ends with Enter; a person types far slower. The detector is fed
// key events with their timestamps and answers, at Enter, whether the burst was a scan.

export type WedgeOptions = {
  /**
   * Longest gap between two keys of one scan, in ms. Scanners send a key every 1–20 ms; even a
   * fast typist needs 60 ms or more per key over six keys in a row.
   */
  maxGapMs: number;
  /** Fewest characters a scan has (EAN-8 is the shortest common symbology). */
  minLength: number;
};

export const DEFAULT_WEDGE: WedgeOptions = { maxGapMs: 50, minLength: 6 };

export class WedgeDetector {
  private buffer = "";
  private lastAt = -Infinity;

  constructor(private readonly opts: WedgeOptions = DEFAULT_WEDGE) {}

  /**
   * Feeds one key. Returns the scanned code when `key` is Enter closing a fast burst, otherwise
   * null. Any slow key starts a new burst, so a person typing never produces a scan.
   */
  feed(key: string, atMs: number): string | null {
    if (key === "Enter") {
      const gapOk = atMs - this.lastAt <= this.opts.maxGapMs * 3;
      const code = this.buffer;
      const wasScan = gapOk && code.length >= this.opts.minLength;
      this.reset();
      return wasScan ? code : null;
    }
    if (key.length !== 1) {
      // Shift and other modifiers arrive inside scans of mixed-case codes; ignore them, but any
      // other named key (arrows, Tab, F-keys) means a person.
      if (key !== "Shift") this.reset();
      return null;
    }
    if (atMs - this.lastAt > this.opts.maxGapMs) {
      this.buffer = key;
    } else {
      this.buffer += key;
    }
    this.lastAt = atMs;
    return null;
  }

  /**
   * Whether a key at `atMs` falls inside a code being typed: a burst under way that began with a
   * letter or digit, as every code a scanner sends does. Its `-` or `+` is part of the code,
   * never the cart's quantity keys; `+` held down (key repeat) is still a person's `+`.
   */
  typingCode(atMs: number): boolean {
    return /[\p{L}\p{N}]/u.test(this.buffer) && atMs - this.lastAt <= this.opts.maxGapMs;
  }

  /** The characters of the burst in progress (what a scan has typed so far). */
  get pending(): string {
    return this.buffer;
  }

  reset(): void {
    this.buffer = "";
    this.lastAt = -Infinity;
  }
}
