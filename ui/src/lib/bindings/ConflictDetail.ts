// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { ConflictEntityKind } from "./ConflictEntityKind";
import type { ConflictField } from "./ConflictField";

export type ConflictDetail = {
  id: string;
  entity_kind: ConflictEntityKind;
  entity_id: string;
  entity_label: string;
  reason: string;
  policy: string;
  detected_at_ms: number;
  fields: Array<ConflictField>;
  server_version: number | null;
};
