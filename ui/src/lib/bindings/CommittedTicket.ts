// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { TicketKind } from "./TicketKind";

export type CommittedTicket = {
  id: string;
  number: number;
  kind: TicketKind;
  total: number;
  change_due: number;
  created_at_ms: number;
};
