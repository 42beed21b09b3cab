//! Durability: a `tillctl ring-up` killed with SIGKILL at random moments never loses a ticket it
//! reported as committed, never leaves a gap in ticket numbers, and the journal still verifies
//! after every restart. Seeded: set `TILL_CRASH_SEED` to replay a run, `TILL_CRASH_ROUNDS` for
//! a longer soak.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{rngs::StdRng, Rng, SeedableRng};

const TILLCTL: &str = env!("CARGO_BIN_EXE_tillctl");

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stored_numbers(dir: &std::path::Path) -> Vec<u64> {
    let store = till_core::Store::open(dir).expect("the store reopens after a kill");
    let conn = store.connect().expect("connects");
    let mut stmt = conn
        .prepare("SELECT number FROM tickets ORDER BY number")
        .expect("prepares");
    let numbers = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .expect("queries")
        .map(|n| u64::try_from(n.expect("reads")).expect("positive"))
        .collect();
    numbers
}

#[test]
fn tickets_reported_committed_survive_sigkill() {
    let seed = env_u64("TILL_CRASH_SEED", 20_261_122);
    let rounds = env_u64("TILL_CRASH_ROUNDS", 20);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut reported: Vec<u64> = Vec::new();
    for round in 0..rounds {
        let mut child = Command::new(TILLCTL)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["ring-up", "--demo", "100000", "--seed"])
            .arg(round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tillctl starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .collect::<Vec<u64>>()
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..400)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let printed = reader.join().expect("reader finishes");
        reported.extend(&printed);

        let stored = stored_numbers(dir.path());
        let expected: Vec<u64> = (1..=stored.len() as u64).collect();
        assert_eq!(
            stored, expected,
            "round {round} (seed {seed}): ticket numbers must stay gapless after a kill"
        );
        for n in &reported {
            assert!(
                stored.binary_search(n).is_ok(),
                "round {round} (seed {seed}): ticket {n} was reported committed but is gone"
            );
        }
        let verify = Command::new(TILLCTL)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("verify-journal")
            .output()
            .expect("verify-journal runs");
        assert!(
            verify.status.success(),
            "round {round} (seed {seed}): the journal must verify after a kill: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
    }
    eprintln!(
        "{rounds} kills, {} tickets reported committed, all present (seed {seed})",
        reported.len()
    );
    assert!(
        !reported.is_empty(),
        "the child must have committed tickets for this test to prove anything"
    );
}
