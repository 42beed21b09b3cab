// The customer editor's tags and points. The core keeps tags trimmed and lower-cased and checks
// every limit when it saves; these only keep the form's chips tidy until then.
export function addTag(tags: string[], raw: string): string[] {
  const tag = raw.trim().toLowerCase();
  if (tag === "" || tags.includes(tag)) return tags;
  return [...tags, tag].sort();
}

export function removeTag(tags: string[], tag: string): string[] {
  return tags.filter((t) => t !== tag);
}

/** Points moved by `by` (negative takes points away); never below 0, as the core requires. */
export function adjustPoints(points: number | null, by: number): number | null {
  if (points === null || !Number.isInteger(points) || !Number.isInteger(by)) return points;
  return Math.max(0, points + by);
}

/**
 * Why the points box cannot be saved as it is (empty, or not a whole number), or null; the core
 * checks the range.
 */
export function pointsProblem(points: number | null): string | null {
  return points === null || !Number.isInteger(points) ? "loyalty points are a whole number: 0 or more" : null;
}
