// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type FailedItem = {
  seq: number;
  mutation_id: string;
  kind: string;
  ticket_id: string | null;
  ticket_number: number | null;
  code: string;
  reason: string;
  failed_at_ms: number;
  attempts: number;
};
