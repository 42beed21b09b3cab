//! The real `till-server` binary: the `listening on` line, CLI commands on a live data dir,
//! SIGTERM shutdown, TLS, and clear errors for a taken port or an unusable data dir.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::Value;
use till_protocol::PushResponse;

const BIN: &str = env!("CARGO_BIN_EXE_till-server");

fn cli(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("till-server runs")
}

fn ok_stdout(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} must succeed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// A running `till-server serve` and the URL from its first stdout line.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(data_dir: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a first line");
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the first line must be `listening on URL`, got {line:?}"))
            .to_string();
        Served { child, url }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("serve exits")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_announces_its_address_works_beside_the_cli_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let served = Served::start(dir.path(), &[]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    assert!(
        !served.url.ends_with(":0"),
        "the actual port, not the asked one"
    );
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{}/v1/health", served.url))
        .send()
        .await
        .expect("health answers")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");

    // Enrol while the server runs, then push with the printed token.
    let added: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["terminal", "add", "Till 1", "--json"]),
        "terminal add",
    ))
    .expect("json");
    let id = added["id"].as_str().expect("id").to_string();
    let token = added["token"].as_str().expect("token").to_string();
    let terminal = common::Terminal {
        id: id.parse().expect("uuid"),
        token: token.clone(),
    };
    let response = http
        .post(format!("{}/v1/push", served.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(common::push_body(&terminal, &common::sales(1, 3)))
        .send()
        .await
        .expect("push answers");
    assert_eq!(response.status(), StatusCode::OK);
    let pushed: PushResponse = response.json().await.expect("push response");
    assert_eq!(pushed.last_applied_seq, 3);

    let stats: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["stats", "--json"]),
        "stats while serving",
    ))
    .expect("json");
    assert_eq!(stats["tickets"], 3);
    assert_eq!(stats["duplicates"], 0);
    assert_eq!(stats["gaps"], 0);
    assert_eq!(stats["terminals"][0]["terminal_id"], id.as_str());

    let tickets: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["tickets", "--json"]),
        "tickets",
    ))
    .expect("json");
    assert_eq!(tickets.as_array().map(Vec::len), Some(3));

    // Revoked while serving: the next request is refused.
    ok_stdout(cli(dir.path(), &["terminal", "revoke", &id]), "revoke");
    let status = http
        .get(format!("{}/v1/whoami", served.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers")
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let exit = served.terminate();
    assert!(exit.success(), "SIGTERM is a clean shutdown, got {exit:?}");
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = Command::new(BIN)
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        !output.status.success(),
        "a taken port must fail the command"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("error: cannot listen on {addr}: address in use")),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "never claims to be listening");
}

#[test]
fn an_unusable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("writes");
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(file.join("data"))
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: cannot open the data dir"),
        "{stderr}"
    );
}

#[test]
fn a_database_newer_than_the_binary_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    ok_stdout(
        cli(dir.path(), &["terminal", "list"]),
        "creates the database",
    );
    let bumped = bump_schema_version(dir.path());
    assert!(bumped, "the schema version was bumped");
    let output = cli(dir.path(), &["terminal", "list"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("newer than this server"), "{stderr}");
}

/// Sets the database's schema version far ahead, as a newer till-server would.
fn bump_schema_version(dir: &Path) -> bool {
    use till_server::storage::sqlite::DB_FILE;
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).expect("opens");
    conn.pragma_update(None, "user_version", 999).is_ok()
}

#[test]
fn catalog_product_and_customer_commands_change_the_back_office() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("catalog.json");
    std::fs::write(
        &json,
        r#"{"settings":{"store_name":"Corner","currency":{"code":"EUR","exponent":2},"prices_include_tax":true,"locale":"en-GB"},
            "tax_rates":[{"id":"standard","name":"Standard","rate_bp":2000}],
            "products":[{"id":"0190a0a0-0000-7000-8000-000000000001","sku":"TEA","barcode":null,"name":"Tea","category":"drinks","unit_price":250,"tax_category":"standard","active":true}]}"#,
    )
    .expect("writes");
    let out = ok_stdout(
        cli(
            dir.path(),
            &["catalog", "import", json.to_str().expect("path")],
        ),
        "json import",
    );
    assert!(out.contains("1 products"), "{out}");

    let csv = dir.path().join("more.csv");
    std::fs::write(
        &csv,
        "sku,name,unit_price,tax_category,tax_rate_bp,category\nBUN,\"Bun, iced\",120,reduced,550,bakery\nTEA,Tea,260,standard,,drinks\n",
    )
    .expect("writes");
    ok_stdout(
        cli(
            dir.path(),
            &["catalog", "import", csv.to_str().expect("path")],
        ),
        "csv import",
    );
    ok_stdout(
        cli(dir.path(), &["product", "set-price", "BUN", "135"]),
        "set-price",
    );

    let bad = cli(dir.path(), &["product", "set-price", "NOPE", "1"]);
    assert!(!bad.status.success(), "an unknown sku is an error");
    let bad = cli(dir.path(), &["product", "set-price", "BUN", "-1"]);
    assert!(!bad.status.success(), "a negative price is an error");
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("error: "));

    let id = "0190a0a0-0000-7000-8000-0000000000c1";
    let added: Value = serde_json::from_str(&ok_stdout(
        cli(
            dir.path(),
            &[
                "customer",
                "add",
                id,
                "--name",
                "Ada",
                "--email",
                "ada@example.org",
            ],
        ),
        "customer add",
    ))
    .expect("json");
    assert_eq!(added["version"], 1);
    let edited: Value = serde_json::from_str(&ok_stdout(
        cli(
            dir.path(),
            &["customer", "edit", id, "--phone", "+44 20", "--email", ""],
        ),
        "customer edit",
    ))
    .expect("json");
    assert_eq!(edited["version"], 2, "every edit bumps the version");
    assert_eq!(
        edited["fields"]["email"],
        Value::Null,
        "an empty value clears"
    );
    assert_eq!(
        edited["fields"]["name"], "Ada",
        "unnamed fields keep their value"
    );
    ok_stdout(
        cli(dir.path(), &["customer", "delete", id]),
        "customer delete",
    );
    let again = cli(dir.path(), &["customer", "edit", id, "--name", "Ada"]);
    assert!(
        !again.status.success(),
        "a deleted customer cannot be edited"
    );

    let bad_file = dir.path().join("bad.csv");
    std::fs::write(&bad_file, "sku,name\nA,B\n").expect("writes");
    let out = cli(
        dir.path(),
        &["catalog", "import", bad_file.to_str().expect("path")],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unit_price"),
        "names the missing column"
    );
}

#[test]
fn a_missing_data_dir_is_a_usage_error() {
    let output = Command::new(BIN)
        .args(["stats", "--json"])
        .env_remove("TILL_SERVER_DATA_DIR")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--data-dir"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_speaks_tls_with_the_given_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert_pem = certified.cert.pem();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).expect("writes");
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).expect("writes");
    let data = dir.path().join("data");
    let served = Served::start(
        &data,
        &[
            "--tls-cert",
            cert_path.to_str().expect("path"),
            "--tls-key",
            key_path.to_str().expect("path"),
        ],
    );
    let addr: std::net::SocketAddr = served
        .url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("an https URL, got {}", served.url))
        .parse()
        .expect("addr");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem"))
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let response = client
        .get(format!("https://localhost:{}/v1/health", addr.port()))
        .send()
        .await
        .expect("a TLS handshake with the given certificate");
    assert_eq!(response.status(), StatusCode::OK);

    // Plain HTTP on the TLS port is not served.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/v1/health"))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true));
    assert!(served.terminate().success());
}

#[test]
fn bad_tls_files_are_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("writes");
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args([
            "--tls-cert",
            junk.to_str().expect("p"),
            "--tls-key",
            junk.to_str().expect("p"),
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("TLS"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    use std::io::{Read, Write};

    let dir = tempfile::tempdir().expect("temp dir");
    let added: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["terminal", "add", "Till 1", "--json"]),
        "terminal add",
    ))
    .expect("json");
    let terminal = common::Terminal {
        id: added["id"].as_str().expect("id").parse().expect("uuid"),
        token: added["token"].as_str().expect("token").to_string(),
    };
    let served = Served::start(dir.path(), &[]);
    let addr = served.url.trim_start_matches("http://").to_string();
    let body = common::push_body(&terminal, &common::sales(1, 50));

    // The request is in flight when SIGTERM arrives: the server has read its head and asked
    // for the body (100 Continue), which is only sent afterwards.
    let mut stream = std::net::TcpStream::connect(&addr).expect("connects");
    write!(
        stream,
        "POST /v1/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        terminal.token,
        body.len()
    )
    .expect("writes the head");
    stream.flush().expect("flushes");
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).expect("reads 100 Continue");
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue"),
        "the server asks for the body: {}",
        String::from_utf8_lossy(&interim)
    );
    let status = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    stream
        .write_all(&body)
        .expect("the connection stays open for the body");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reads the answer");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the request in flight is answered: {response}"
    );
    assert!(
        response.to_ascii_lowercase().contains("x-request-id:"),
        "every answer carries its request id"
    );
    let mut served = served;
    let exit = served.child.wait().expect("exits");
    assert!(exit.success(), "a clean exit after draining: {exit:?}");
    let stats: Value =
        serde_json::from_str(&ok_stdout(cli(dir.path(), &["stats", "--json"]), "stats"))
            .expect("json");
    assert_eq!(stats["tickets"], 50, "the drained request was committed");
}

#[test]
fn the_demo_catalog_imports_and_reimports_without_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalog/demo.json");
    let first = ok_stdout(cli(dir.path(), &["catalog", "import", demo]), "demo import");
    assert!(!first.contains(" 0 products"), "{first}");
    let again = ok_stdout(
        cli(dir.path(), &["catalog", "import", demo]),
        "second import",
    );
    assert!(
        again.contains("imported 0 tax rates and 0 products"),
        "an unchanged catalog changes nothing (no pull churn): {again}"
    );
}

/// The start of a request head, never finished.
const HALF_A_HEAD: &[u8] = b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";

/// Every one of `streams`, each sent half a request head, is closed by a server whose header
/// timeout is 1 s, well before the streams' own 10 s read timeout.
fn assert_closed_after_the_header_timeout(streams: &mut [impl std::io::Read]) {
    let started = std::time::Instant::now();
    for (i, stream) in streams.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream),
            "connection {i} must be closed by the header timeout, not left open"
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "closed after about the header timeout: {:?}",
        started.elapsed()
    );
}

/// Whether the server closed `stream` (end of stream, or a reset) before its read timeout.
fn closed_by_server(stream: &mut impl std::io::Read) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn hundreds_of_half_sent_request_heads_are_dropped_after_the_header_timeout() {
    use std::io::Write;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("temp dir");
    let served = Served::start(dir.path(), &["--header-timeout", "1s"]);
    let addr = served.url.trim_start_matches("http://").to_string();
    let mut streams: Vec<std::net::TcpStream> = (0..300)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).expect("connects");
            s.write_all(HALF_A_HEAD).expect("writes half a head");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("sets a timeout");
            s
        })
        .collect();
    assert_closed_after_the_header_timeout(&mut streams);
    let body = ok_health(&addr);
    assert!(
        body.contains("\"status\":\"ok\""),
        "and the server still answers: {body}"
    );
    assert!(served.terminate().success());
}

/// `GET /v1/health` over a fresh plain connection: the whole answer.
fn ok_health(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    write!(
        s,
        "GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("writes");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("reads");
    answer
}

#[test]
fn half_sent_request_heads_over_tls_are_dropped_after_the_header_timeout_too() {
    use std::io::Write;
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let dir = tempfile::tempdir().expect("temp dir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).expect("writes");
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).expect("writes");
    let served = Served::start(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert_path.to_str().expect("path"),
            "--tls-key",
            key_path.to_str().expect("path"),
            "--header-timeout",
            "1s",
        ],
    );
    let addr = served.url.trim_start_matches("https://").to_string();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(certified.cert.pem().as_bytes()).expect("pem"))
        .expect("a root");
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let mut streams: Vec<_> = (0..20)
        .map(|_| {
            let tcp = std::net::TcpStream::connect(&addr).expect("connects");
            tcp.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("sets a timeout");
            let tls = rustls::ClientConnection::new(
                config.clone(),
                "localhost".try_into().expect("name"),
            )
            .expect("a TLS client");
            let mut stream = rustls::StreamOwned::new(tls, tcp);
            stream
                .write_all(HALF_A_HEAD)
                .expect("handshakes and writes half a head");
            stream.flush().expect("flushes");
            stream
        })
        .collect();
    assert_closed_after_the_header_timeout(&mut streams);
    assert!(served.terminate().success());
}

#[test]
fn rotate_token_and_settings_commands_work_as_documented() {
    let dir = tempfile::tempdir().expect("temp dir");
    let added: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["terminal", "add", "Till 1", "--json"]),
        "terminal add",
    ))
    .expect("json");
    let id = added["id"].as_str().expect("id");
    let rotated: Value = serde_json::from_str(&ok_stdout(
        cli(
            dir.path(),
            &["terminal", "rotate-token", id, "--grace", "15m", "--json"],
        ),
        "rotate-token",
    ))
    .expect("json");
    assert_eq!(rotated["id"], added["id"]);
    let token = rotated["token"].as_str().expect("a new token");
    assert!(token.starts_with("till_") && token != added["token"]);
    let stops = rotated["old_token_expires_at_ms"].as_i64().expect("when");
    let listed: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["terminal", "list", "--json"]),
        "terminal list",
    ))
    .expect("json");
    assert_eq!(listed[0]["previous_token_expires_at_ms"], stops);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as i64;
    assert!((now_ms + 14 * 60_000..=now_ms + 15 * 60_000).contains(&stops));
    let text = ok_stdout(
        cli(
            dir.path(),
            &["terminal", "rotate-token", id, "--grace", "0"],
        ),
        "rotate-token",
    );
    assert!(text.contains("token: till_"), "{text}");
    let bad = cli(
        dir.path(),
        &["terminal", "rotate-token", id, "--grace", "30"],
    );
    assert_eq!(bad.status.code(), Some(2), "a duration needs its unit");

    let set = ok_stdout(
        cli(
            dir.path(),
            &["settings", "set", "allow-cross-till-returns", "true"],
        ),
        "settings set",
    );
    assert!(set.contains("allow-cross-till-returns true"), "{set}");
    let shown: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["settings", "show", "--json"]),
        "settings show",
    ))
    .expect("json");
    assert_eq!(shown["allow_cross_till_returns"], true);
    let bad = cli(
        dir.path(),
        &["settings", "set", "allow-cross-till-returns", "yes"],
    );
    assert!(!bad.status.success());
}

#[test]
fn employee_commands_work_as_documented_and_never_print_a_pin_or_its_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let added: Value = serde_json::from_str(&ok_stdout(
        cli(
            dir.path(),
            &[
                "employee", "add", " Ada ", "--role", "cashier", "--pin", "2468", "--json",
            ],
        ),
        "employee add",
    ))
    .expect("json");
    assert_eq!(added["name"], "Ada");
    assert_eq!(added["role"], "cashier");
    let id = added["id"].as_str().expect("id").to_string();
    assert_eq!(added.as_object().map(|o| o.len()), Some(3), "{added}");
    let text = ok_stdout(
        cli(
            dir.path(),
            &[
                "employee", "add", "Grace", "--role", "manager", "--pin", "13579",
            ],
        ),
        "employee add",
    );
    assert!(
        text.contains("name: Grace") && text.contains("role: manager"),
        "{text}"
    );

    for (args, code) in [
        (
            vec![
                "employee", "add", "Bob", "--role", "cashier", "--pin", "12a4",
            ],
            1,
        ),
        (
            vec![
                "employee", "add", "Bob", "--role", "cashier", "--pin", "123",
            ],
            1,
        ),
        (
            vec!["employee", "add", "", "--role", "cashier", "--pin", "1234"],
            1,
        ),
        (
            vec!["employee", "add", "Bob", "--role", "owner", "--pin", "1234"],
            2,
        ),
        (vec!["employee", "set-pin", &id, "--pin", "123456789"], 1),
    ] {
        let refused = cli(dir.path(), &args);
        assert_eq!(refused.status.code(), Some(code), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(
            !stderr.contains("12a4"),
            "the PIN is never repeated: {stderr}"
        );
    }

    ok_stdout(
        cli(dir.path(), &["employee", "set-pin", &id, "--pin", "97531"]),
        "set-pin",
    );
    ok_stdout(cli(dir.path(), &["employee", "disable", &id]), "disable");
    let listed_text = ok_stdout(cli(dir.path(), &["employee", "list"]), "employee list");
    assert!(listed_text.contains("disabled") && listed_text.contains("Grace"));
    let listed: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["employee", "list", "--json"]),
        "employee list",
    ))
    .expect("json");
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 2, "the refused ones were never stored");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["disabled"], true);
    assert_eq!(listed[1]["name"], "Grace");
    assert_eq!(listed[1]["disabled"], false);
    for text in [listed_text, Value::from(listed.clone()).to_string()] {
        assert!(!text.contains("argon2") && !text.contains("pin"), "{text}");
    }
}

#[test]
fn a_reader_that_closes_early_ends_a_command_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["stats"][..], &["stats", "--json"]] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .stdout(writer)
            .output()
            .expect("till-server runs");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "`till-server {} | head` must end quietly with 0, got {:?}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn verify_journal_recomputes_a_terminals_stored_push_chain() {
    use till_server::decide::push::Received;
    use till_server::decide::stamps::StampLimit;
    use till_server::storage::sqlite::{SqliteStorage, DB_FILE};
    use till_server::storage::Storage;

    let dir = tempfile::tempdir().expect("temp dir");
    let added: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["terminal", "add", "Till 1", "--json"]),
        "terminal add",
    ))
    .expect("json");
    let id = added["id"].as_str().expect("id").to_string();
    {
        let storage = SqliteStorage::open(dir.path()).expect("opens");
        let batch = common::linked(common::sales(1, 3), till_protocol::chain::GENESIS)
            .into_iter()
            .map(|m| Received::from_mutation(m).expect("serializes"))
            .collect();
        let stamps = StampLimit::ahead_of(0, i64::MAX);
        let id = id.parse().expect("uuid");
        let pushed = storage.push(id, batch, Vec::new(), None, stamps).await;
        assert_eq!(pushed.expect("settles").last_applied_seq, 3);
    }
    let whole: Value = serde_json::from_str(&ok_stdout(
        cli(dir.path(), &["verify-journal", "--terminal", &id, "--json"]),
        "verify-journal",
    ))
    .expect("json");
    assert_eq!(
        (whole["ok"].as_bool(), whole["checked"].as_u64()),
        (Some(true), Some(3))
    );
    assert_eq!(whole["head"]["seq"], 3);

    let unknown = cli(
        dir.path(),
        &[
            "verify-journal",
            "--terminal",
            &uuid::Uuid::now_v7().to_string(),
        ],
    );
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "an unknown terminal is bad input"
    );

    // A stored sale lowered: its content no longer matches its link.
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("opens");
    conn.execute(
        "UPDATE tickets SET body = json_set(body, '$.totals.total', 1) WHERE number = 2",
        [],
    )
    .expect("tampers");
    let broken = cli(dir.path(), &["verify-journal", "--terminal", &id, "--json"]);
    assert_eq!(broken.status.code(), Some(3), "a broken chain exits 3");
    let report: Value = serde_json::from_slice(&broken.stdout).expect("json");
    assert_eq!(
        (
            report["ok"].as_bool(),
            report["first_break"]["seq"].as_u64()
        ),
        (Some(false), Some(2))
    );
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("broken at sequence 2"), "{stderr}");
}
