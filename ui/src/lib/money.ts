// Display and entry of money. Amounts are integers in minor units; nothing here adds, rounds or
// converts through floating point: formatting splits the integer as a decimal string and only
// borrows the locale's symbols and grouping from Intl.
import type { Currency } from "./bindings/Currency";

export type MoneyFormat = { currency: Currency; locale: string };

const cache = new Map<string, Intl.NumberFormat>();

function numberFormat(fmt: MoneyFormat): Intl.NumberFormat {
  const key = `${fmt.locale}|${fmt.currency.code}|${fmt.currency.exponent}`;
  let nf = cache.get(key);
  if (!nf) {
    try {
      nf = new Intl.NumberFormat(fmt.locale, {
        style: "currency",
        currency: fmt.currency.code,
        minimumFractionDigits: fmt.currency.exponent,
        maximumFractionDigits: fmt.currency.exponent,
      });
    } catch {
      // An unknown locale or currency code must not take the till down: fall back to en plus code.
      nf = new Intl.NumberFormat("en", {
        style: "currency",
        currency: "XXX",
        currencyDisplay: "code",
        minimumFractionDigits: fmt.currency.exponent,
        maximumFractionDigits: fmt.currency.exponent,
      });
    }
    cache.set(key, nf);
  }
  return nf;
}

/** Splits minor units into the integer part and the exact fraction digits. */
export function splitMinor(minor: number, exponent: number): { negative: boolean; whole: string; fraction: string } {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`not an amount in minor units: ${minor}`);
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, "0");
  const cut = digits.length - exponent;
  return { negative, whole: digits.slice(0, cut), fraction: digits.slice(cut) };
}

/** Formats minor units for display in the store's locale and currency, e.g. 123456 → "£1,234.56". */
export function formatMoney(minor: number, fmt: MoneyFormat): string {
  const { negative, whole, fraction } = splitMinor(minor, fmt.currency.exponent);
  const nf = numberFormat(fmt);
  // `whole` is an exact integer; format it with Intl and put the exact fraction digits in place
  // of the zeros Intl writes.
  const parts = nf.formatToParts(negative ? -Number(whole) || -0 : Number(whole));
  let out = "";
  for (const part of parts) {
    if (part.type === "fraction") out += fraction;
    else out += part.value;
  }
  if (negative && !/[-\u2212]/.test(out)) out = `-${out}`;
  return out;
}

/**
 * Reads an amount the cashier typed ("12.5", "12,50", "1 234.00", "7") into minor units.
 * Returns null when it is not an amount in this currency (too many decimals, letters, empty).
 */
export function parseMoney(input: string, exponent: number): number | null {
  const cleaned = input.replace(/[\s\u00a0\u202f']/g, "");
  const m = /^(\d+)(?:[.,](\d*))?$/.exec(cleaned);
  if (!m) return null;
  const whole = m[1];
  const frac = m[2] ?? "";
  if (frac.length > exponent) return null;
  const digits = (whole + frac.padEnd(exponent, "0")).replace(/^0+(?=\d)/, "");
  if (digits.length > 15) return null;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : null;
}

/** Reads a percentage ("10", "12.5", "7,25") into basis points; null unless 0 < p ≤ 100. */
export function parsePercentBp(input: string): number | null {
  const m = /^\s*(\d{1,3})(?:[.,](\d{0,2}))?\s*%?\s*$/.exec(input);
  if (!m) return null;
  const bp = Number(m[1] + (m[2] ?? "").padEnd(2, "0"));
  if (bp <= 0 || bp > 10_000) return null;
  return bp;
}

/** Formats basis points as a percentage, e.g. 2000 → "20%", 550 → "5.5%". */
export function formatRate(bp: number): string {
  const whole = Math.trunc(bp / 100);
  const rest = bp % 100;
  if (rest === 0) return `${whole}%`;
  return `${whole}.${String(rest).padStart(2, "0").replace(/0$/, "")}%`;
}
