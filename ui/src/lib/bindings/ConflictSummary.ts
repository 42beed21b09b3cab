// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { ConflictEntityKind } from "./ConflictEntityKind";

export type ConflictSummary = {
  id: string;
  entity_kind: ConflictEntityKind;
  entity_id: string;
  entity_label: string;
  reason: string;
  policy: string;
  detected_at_ms: number;
};
