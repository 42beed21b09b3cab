// When an idle till locks itself: a pure decision, so the rule is tested without timers.

/**
 * Whether the till should lock now: someone is signed in on a till with employees, locking is on
 * (`lockAfterSeconds` > 0), and nothing was touched or typed for that long.
 */
export function idleLockDue(o: { signedIn: boolean; lastActivityMs: number; nowMs: number; lockAfterSeconds: number }): boolean {
  return o.signedIn && o.lockAfterSeconds > 0 && o.nowMs - o.lastActivityMs >= o.lockAfterSeconds * 1000;
}

/** The longest PIN the pad takes (the back office's rule allows 4 to 8 digits). */
export const MAX_PIN_DIGITS = 8;

/** The PIN after one key: a digit appends (up to the longest PIN), Backspace removes the last. */
export function pinAfterKey(pin: string, key: string): string {
  if (/^[0-9]$/.test(key)) return pin.length < MAX_PIN_DIGITS ? pin + key : pin;
  if (key === "Backspace") return pin.slice(0, -1);
  return pin;
}
