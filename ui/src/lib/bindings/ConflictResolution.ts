// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
import type { FieldPick } from "./FieldPick";

export type ConflictResolution =
  | { kind: "keep_mine" }
  | { kind: "keep_theirs" }
  | { kind: "fields"; picks: { [key in string]?: FieldPick } };
