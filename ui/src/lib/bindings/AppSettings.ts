// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type AppSettings = {
  server_url: string | null;
  enrolled: boolean;
  terminal_id: string | null;
  terminal_name: string | null;
  sync_interval_secs: number;
  operator: string;
};
