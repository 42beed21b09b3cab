// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { Discount } from "./Discount";
import type { TaxFigures } from "./TaxFigures";
import type { Tender } from "./Tender";
import type { TicketDetailLine } from "./TicketDetailLine";
import type { TicketKind } from "./TicketKind";
import type { ItemSyncState } from "./ItemSyncState";
import type { TicketTotals } from "./TicketTotals";

export type TicketDetail = {
  id: string;
  number: number;
  kind: TicketKind;
  created_at_ms: number;
  customer_id: string | null;
  reverses: string | null;
  reversed_by: string | null;
  lines: Array<TicketDetailLine>;
  ticket_discount: Discount | null;
  taxes: Array<TaxFigures>;
  totals: TicketTotals;
  tenders: Array<Tender>;
  sync_state: ItemSyncState;
  server_number: number | null;
  failure_reason: string | null;
};
