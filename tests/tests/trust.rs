//! How a till trusts its back office, against a real `till-server serve --tls-cert/--tls-key`
//! with a certificate made here: a shop's CA given with `--ca` is accepted and another CA is
//! not; the right `--pin` is accepted whoever issued the certificate and a wrong one refused;
//! plain http to another machine is refused unless `--allow-cleartext`, which status then shows.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use sha2::{Digest, Sha256};
use till_e2e::*;

/// A CA's certificate (PEM) and what it needs to sign.
struct Ca {
    pem: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("a key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("self-signed");
    Ca {
        pem: cert.pem(),
        cert,
        key,
    }
}

/// A back office serving HTTPS with a certificate for 127.0.0.1 signed by `ca`; returns it and
/// the certificate's pin (hex SHA-256 of its DER).
async fn https_server(dir: &Path, ca: &Ca) -> (Server, String) {
    let key = KeyPair::generate().expect("a key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca.cert, &ca.key)
        .expect("signed");
    let (cert_path, key_path) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&cert_path, cert.pem()).expect("writes");
    std::fs::write(&key_path, key.serialize_pem()).expect("writes");
    let pin = hex::encode(Sha256::digest(cert.der()));
    let server = Server::start_with(
        &BackOffice::DataDir(dir.join("office")),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert_path.to_string_lossy(),
            "--tls-key",
            &key_path.to_string_lossy(),
        ],
    )
    .await;
    assert_eq!(server.scheme, "https");
    (server, pin)
}

async fn enrol(till: &Path, url: &str, token: &str, extra: &[&str]) -> Run {
    let mut args = vec!["enrol", "--server", url, "--token", token];
    args.extend_from_slice(extra);
    run_tillctl(till, &args).await
}

fn refused_with(run: &Run, code: &str) {
    assert!(!run.ok, "must be refused with {code}: {}", run.stdout);
    assert!(
        run.stderr.contains(&format!("({code})")),
        "refused with {code}: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shops_own_ca_is_trusted_for_its_back_office_and_another_is_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let shop_ca = new_ca("Corner Shop CA");
    let (server, _) = https_server(dir.path(), &shop_ca).await;
    let ca_file = dir.path().join("shop-ca.pem");
    std::fs::write(&ca_file, &shop_ca.pem).expect("writes");
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, new_ca("Someone else").pem).expect("writes");
    let (_, token) = add_terminal(server.data_dir(), "till-1").await;
    let till = tempfile::tempdir().expect("temp dir");

    let usual_roots = enrol(till.path(), &server.url(), &token, &[]).await;
    refused_with(&usual_roots, "untrusted_certificate");
    let wrong_ca = enrol(
        till.path(),
        &server.url(),
        &token,
        &["--ca", &other_ca.to_string_lossy()],
    )
    .await;
    refused_with(&wrong_ca, "untrusted_certificate");
    assert_eq!(
        status(till.path()).await["enrolled"],
        false,
        "a refused enrolment stores nothing"
    );

    let enrolled = enrol(
        till.path(),
        &server.url(),
        &token,
        &["--ca", &ca_file.to_string_lossy()],
    )
    .await;
    assert!(enrolled.ok, "the shop's CA is trusted: {}", enrolled.stderr);
    tillctl_ok(till.path(), &["ring-up", "--demo", "2"]).await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_eq!(
        stats(server.data_dir()).await["tickets"],
        2,
        "every later request trusts the CA stored with the enrolment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_certificate_is_accepted_whoever_issued_it_and_another_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, pin) = https_server(dir.path(), &new_ca("Unknown CA")).await;
    let (_, token) = add_terminal(server.data_dir(), "till-1").await;
    let till = tempfile::tempdir().expect("temp dir");

    let mut wrong = pin.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("hex");
    let refused = enrol(till.path(), &server.url(), &token, &["--pin", &wrong]).await;
    refused_with(&refused, "certificate_pin_mismatch");

    let colons = pin
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let enrolled = enrol(till.path(), &server.url(), &token, &["--pin", &colons]).await;
    assert!(
        enrolled.ok,
        "the pin is the trust, as openssl prints it: {}",
        enrolled.stderr
    );
    tillctl_ok(till.path(), &["ring-up", "--demo", "1"]).await;
    tillctl_ok(till.path(), &["sync", "--until-drained", "--timeout", "60"]).await;
    assert_eq!(stats(server.data_dir()).await["tickets"], 1);

    let both = enrol(
        till.path(),
        &server.url(),
        &token,
        &["--pin", &pin, "--ca", "/dev/null"],
    )
    .await;
    assert!(!both.ok, "a CA and a pin do not go together");
}

/// This machine's address on its network, when it has one: not loopback.
fn network_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the route and so the local address.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_machine_needs_the_switch_and_is_shown_while_on() {
    let till = tempfile::tempdir().expect("temp dir");
    let refused = enrol(till.path(), "http://192.0.2.1:7878", "till_x", &[]).await;
    refused_with(&refused, "cleartext_refused");
    assert_eq!(status(till.path()).await["enrolled"], false);

    let Some(ip) = network_address() else {
        eprintln!("skipped the rest: this machine has no address but loopback");
        return;
    };
    let office = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(
        &BackOffice::DataDir(office.path().to_path_buf()),
        &["--listen", "0.0.0.0:0"],
    )
    .await;
    let url = format!("http://{ip}:{}", server.addr.port());
    let (_, token) = add_terminal(office.path(), "till-1").await;
    refused_with(
        &enrol(till.path(), &url, &token, &[]).await,
        "cleartext_refused",
    );
    let allowed = enrol(till.path(), &url, &token, &["--allow-cleartext"]).await;
    assert!(allowed.ok, "allowed explicitly: {}", allowed.stderr);
    assert!(
        allowed.stderr.contains("plain http"),
        "and said: {}",
        allowed.stderr
    );
    let after = status(till.path()).await;
    assert_eq!(
        after["cleartext"], true,
        "status shows it while on: {after}"
    );

    let loopback = tempfile::tempdir().expect("temp dir");
    let local = format!("http://127.0.0.1:{}", server.addr.port());
    let (_, token) = add_terminal(office.path(), "till-2").await;
    assert!(enrol(loopback.path(), &local, &token, &[]).await.ok);
    assert_eq!(
        status(loopback.path()).await["cleartext"],
        false,
        "this machine's loopback needs no switch and is not cleartext on a network"
    );
}
