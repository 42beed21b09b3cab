// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { TicketKind } from "./TicketKind";
import type { ItemSyncState } from "./ItemSyncState";

export type TicketSummary = {
  id: string;
  number: number;
  kind: TicketKind;
  total: number;
  created_at_ms: number;
  sync_state: ItemSyncState;
  server_number: number | null;
  reverses: string | null;
  reversed_by: string | null;
};
