/** Modules of light margin a scanner needs around a QR symbol. */
export const QUIET_ZONE = 4;

/**
 * An SVG path drawing the dark modules of a QR symbol given row by row (`1` dark, `0` light), one
 * unit per module: each run of dark modules in a row is one rectangle.
 */
export function qrPath(rows: string[]): string {
  const parts: string[] = [];
  rows.forEach((row, y) => {
    let x = 0;
    while (x < row.length) {
      if (row[x] !== "1") {
        x++;
        continue;
      }
      const start = x;
      while (x < row.length && row[x] === "1") x++;
      parts.push(`M${start} ${y}h${x - start}v1h-${x - start}z`);
    }
  });
  return parts.join("");
}
