//! `till-bench <scenario> --json`: benchmarks that print figures. The last line of every run is
//! one JSON object of figures; human-readable progress goes to stderr.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "till-bench",
    about = "Till benchmarks: each scenario prints one JSON line of figures"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {}

fn main() {
    let cli = Cli::parse();
    match cli.scenario {}
}
