// The words of the notice a manager sees when the till's store was found damaged and replaced:
// which file was set aside, and what was salvaged from it (or that the salvage is under way, or
// why it failed).
import type { StoreDamage } from "./bindings/StoreDamage";

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The headline: the store was damaged and set aside as which file. */
export function damageHeadline(d: StoreDamage): string {
  return `The store was damaged and set aside as ${d.file}, untouched.`;
}

/** What became of its sales, in a few words (why a salvage failed is in the details). */
export function damageSalvage(d: StoreDamage): string {
  const s = d.salvaged;
  if (!s && d.salvage_failed) {
    return "Its sales could not be salvaged; the register sells on in a fresh store, and `tillctl recover` can try again.";
  }
  if (!s) return "Its sales are being salvaged into a fresh store; the register sells on.";
  const lost = s.unreadable_tickets > 0 ? ` ${plural(s.unreadable_tickets, "ticket", "tickets")} could not be read.` : "";
  return `Its sales were salvaged (${plural(s.tickets, "ticket", "tickets")}) into a fresh store; the register sells on.${lost}`;
}
