// Hand-written to match docs/app-api.md; the shell regenerates this file from Rust with ts-rs.
export type SettingsInput = {
  server_url: string | null;
  sync_interval_secs: number;
  operator: string;
};
