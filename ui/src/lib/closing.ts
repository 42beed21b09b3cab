// The words of the question asked when the till's window is closed with work not yet at the back
// office (`app://close-requested`), and of the drain's progress while "Sync now and close" runs.
import type { CloseRequest } from "./bindings/CloseRequest";
import type { SyncStatus } from "./bindings/SyncStatus";

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "12 sales are not yet at the back office", counting the other changes apart. */
export function unsentHeadline(r: CloseRequest): string {
  const others = r.pending - r.sales;
  if (r.sales === 0) return `${plural(others, "change is", "changes are")} not yet at the back office`;
  const also = others > 0 ? ` (and ${plural(others, "other change", "other changes")})` : "";
  return `${plural(r.sales, "sale is", "sales are")} not yet at the back office${also}`;
}

/** Why "Sync now and close" left the window open, as one sentence. */
export function notSent(reason: string): string {
  return `They could not be sent: ${reason.replace(/\.+$/, "")}.`;
}

/** How far the drain is, from the latest status snapshot. */
export function drainProgress(s: SyncStatus): string {
  if (s.progress) return `Sending… ${s.progress.done} of ${s.progress.total} sent`;
  return `Sending… ${s.pending} left`;
}
