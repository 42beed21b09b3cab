//! `till-bench … | head -c 1`: a reader that closes the pipe early ends the run quietly.

use std::process::Command;

#[test]
fn a_reader_that_closes_early_ends_the_run_quietly() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_till-bench"))
        .args(["ring-up", "--tickets", "25", "--fsyncs", "25", "--json"])
        .stdout(writer)
        .output()
        .expect("till-bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "a closed stdout must end the run with 0, got {:?}: {stderr}",
        out.status
    );
    assert!(
        !stderr.contains("panicked"),
        "and without a panic: {stderr}"
    );
}
