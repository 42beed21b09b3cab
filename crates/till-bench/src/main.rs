//! `till-bench <scenario> --json`: benchmarks that print figures. The last line of every run is
//! one JSON object of figures; human-readable progress goes to stderr.

#[macro_use]
extern crate till_cli;

mod app;
mod drain;
mod fleet;
mod link;
mod push;
mod ring_up;
mod server;

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
enum Scenario {
    /// The desktop app's cold start to a working register, and its idle memory (app + WebKit)
    App(app::Args),
    /// Commit latency of 5-line tickets against raw fsync on the same disk
    RingUp(ring_up::Args),
    /// Back-office push throughput over loopback for batches of 1, 10, 100 and 500 tickets
    Push(push::Args),
    /// A terminal backlog drained to a local till-server, batched vs one request per ticket,
    /// optionally through a throttled link
    Drain(drain::Args),
    /// N terminals draining into till-server at once: SQLite, or PostgreSQL with R replicas
    Fleet(fleet::Args),
}

fn main() {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::App(args) => app::run(args),
        Scenario::RingUp(args) => ring_up::run(args),
        Scenario::Push(args) => push::run(args),
        Scenario::Drain(args) => drain::run(args),
        Scenario::Fleet(args) => fleet::run(args),
    }
}
