//! `till-bench push --json [--tickets N] [--batches 1,10,100,500]`: the back office's push
//! throughput. Starts a real till-server (SQLite, `synchronous=FULL`) on loopback in this
//! process, and for each batch size enrols a fresh terminal and pushes N five-line sales in
//! batches of that size, one request after the other, as a terminal draining its outbox does.
//! Reports mutations per second and request latency per batch size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use till_protocol::{MutationBody, Outcome, PushRequest, PushResponse};
use till_server::sample;
use till_server::serve::{BoundServer, ServeOptions};
use till_server::storage::sqlite::SqliteStorage;
use till_server::storage::Storage;
use till_server::token;

#[derive(clap::Args)]
pub struct Args {
    /// Tickets pushed for each batch size
    #[arg(long, default_value_t = 5000)]
    tickets: u64,
    /// Batch sizes to measure, comma-separated
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 10, 100, 500])]
    batches: Vec<usize>,
    /// Print only the JSON line (the JSON line is always last)
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SizeFigures {
    batch: usize,
    mutations: u64,
    requests: usize,
    seconds: f64,
    mutations_per_sec: f64,
    request_p50_ms: f64,
    request_p99_ms: f64,
    /// Mutations not answered `applied` (must be 0).
    errors: u64,
}

#[derive(Serialize)]
struct Figures {
    scenario: &'static str,
    storage: &'static str,
    transport: &'static str,
    tickets_per_size: u64,
    lines_per_ticket: usize,
    results: Vec<SizeFigures>,
    /// Throughput of the largest batch over that of batches of one.
    speedup_largest_vs_single: Option<f64>,
}

pub fn run(args: Args) {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(measure(args)));
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn measure(args: Args) -> Result<(), String> {
    if args.tickets == 0
        || args
            .batches
            .iter()
            .any(|&b| b == 0 || b > till_protocol::MAX_PUSH_BATCH)
    {
        return Err(format!(
            "--tickets must be positive and batch sizes between 1 and {}",
            till_protocol::MAX_PUSH_BATCH
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let storage = Arc::new(SqliteStorage::open(dir.path()).map_err(|e| e.to_string())?);
    let server = BoundServer::bind(
        storage.clone(),
        "127.0.0.1:0",
        None,
        &ServeOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    let url = format!("{}/v1/push", server.url());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    let mut results = Vec::new();
    for &batch in &args.batches {
        let token = token::generate();
        let terminal = storage
            .add_terminal(&format!("bench batch {batch}"), &token::hash(&token))
            .await
            .map_err(|e| e.to_string())?;
        // Bodies are built before timing: the figure is the server's, not the client's.
        let bodies: Vec<(usize, Vec<u8>)> = (1..=args.tickets)
            .collect::<Vec<u64>>()
            .chunks(batch)
            .map(|seqs| {
                let mutations = seqs
                    .iter()
                    .map(|&n| sample::mutation(n, MutationBody::TicketCreated(sample::sale(n))))
                    .collect();
                let request = PushRequest {
                    terminal_id: terminal.id,
                    mutations,
                    withdraw: Vec::new(),
                    head: None,
                };
                serde_json::to_vec(&request).map(|b| (seqs.len(), b))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        if !args.json {
            eprintln!("pushing {} tickets in batches of {batch}…", args.tickets);
        }
        let mut latencies = Vec::with_capacity(bodies.len());
        let mut errors = 0u64;
        let started = Instant::now();
        for (count, body) in bodies {
            let sent = Instant::now();
            let response = http
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| format!("push failed: {e}"))?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            latencies.push(sent.elapsed());
            if !status.is_success() {
                errors += count as u64;
                continue;
            }
            let answer: PushResponse = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            errors += answer
                .results
                .iter()
                .filter(|r| !matches!(r.outcome, Outcome::Applied { .. }))
                .count() as u64;
        }
        let elapsed = started.elapsed();
        latencies.sort_unstable();
        let figures = SizeFigures {
            batch,
            mutations: args.tickets,
            requests: latencies.len(),
            seconds: elapsed.as_secs_f64(),
            mutations_per_sec: args.tickets as f64 / elapsed.as_secs_f64().max(1e-9),
            request_p50_ms: percentile(&latencies, 0.50),
            request_p99_ms: percentile(&latencies, 0.99),
            errors,
        };
        if !args.json {
            eprintln!(
                "  batch {batch:>4}: {:>10.0} mutations/s, p50 {:.2} ms, p99 {:.2} ms, {errors} errors",
                figures.mutations_per_sec, figures.request_p50_ms, figures.request_p99_ms
            );
        }
        results.push(figures);
    }
    let _ = stop.send(());
    let _ = serving.await;

    let single = results
        .iter()
        .find(|r| r.batch == 1)
        .map(|r| r.mutations_per_sec);
    let largest = results
        .iter()
        .max_by_key(|r| r.batch)
        .map(|r| r.mutations_per_sec);
    let figures = Figures {
        scenario: "push",
        storage: "sqlite",
        transport: "http over loopback",
        tickets_per_size: args.tickets,
        lines_per_ticket: 5,
        speedup_largest_vs_single: single.zip(largest).map(|(s, l)| l / s.max(1e-9)),
        results,
    };
    outln!(
        "{}",
        serde_json::to_string(&figures).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
