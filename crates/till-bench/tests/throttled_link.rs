//! `till-bench drain --link-kbps K --rtt-ms R`: a short drain through the throttled link, with
//! the real `tillctl` and `till-server`, reports figures that agree with each other. Timing is
//! never asserted: the machine running the tests sets it.

use std::process::Command;

#[test]
fn a_drain_through_a_throttled_link_reports_consistent_figures() {
    let tickets = 12;
    let out = Command::new(env!("CARGO_BIN_EXE_till-bench"))
        .args(["drain", "--tickets", &tickets.to_string()])
        .args(["--link-kbps", "50000", "--rtt-ms", "4", "--json"])
        .output()
        .expect("till-bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the drain ends well: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    let figures: serde_json::Value = serde_json::from_str(last).expect("JSON figures");
    let link = &figures["link"];
    let number = |v: &serde_json::Value| v.as_f64().unwrap_or(-1.0);
    assert_eq!(figures["tickets"], tickets, "{figures}");
    assert_eq!(link["unsent"], 0, "everything was drained: {figures}");
    let (up, down) = (number(&link["bytes_up"]), number(&link["bytes_down"]));
    assert!(up > 0.0 && down > 0.0, "bytes crossed both ways: {figures}");
    assert!(
        up > down,
        "a drain sends more than it is answered: {figures}"
    );
    assert_eq!(
        number(&link["wire_bytes_per_sale"]),
        ((up + down) / f64::from(tickets) * 100.0).round() / 100.0,
        "bytes per sale are both directions over the tickets: {figures}"
    );
    let round_trips = number(&link["round_trips"]);
    assert!(
        round_trips >= 1.0 + number(&link["connections"]),
        "at least one exchange on top of each connection's handshake: {figures}"
    );
    let floor = (up + down) * 8.0 / 50_000_000.0 + round_trips * 0.004;
    assert!(
        (number(&link["floor_seconds"]) - floor).abs() < 0.006,
        "the floor is wire bytes over bandwidth plus round trips times RTT ({floor}): {figures}"
    );
    assert!(
        number(&link["seconds_over_floor"]) > 0.0,
        "the drain is set against the floor: {figures}"
    );
    let sync = number(&link["sync_seconds"]);
    assert!(
        sync > 0.0 && sync <= number(&figures["batched"]["seconds"]) + 0.01,
        "the engine's own time is within the process's: {figures}"
    );
    assert!(
        number(&link["sync_over_floor"]) > 0.0,
        "and set against the floor too: {figures}"
    );
}
