// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { ItemSyncState } from "./ItemSyncState";

export type CustomerView = {
  id: string;
  version: number;
  name: string;
  email: string | null;
  phone: string | null;
  note: string | null;
  sync_state: ItemSyncState;
};
