//! Every Till program names its version and the commit it was built from, the same for all
//! three: `till --version`, `tillctl --version`, `till-server --version`.

use std::process::Command;

use till_e2e::bin;

/// The commit of this checkout, when the tests run from one.
fn checkout_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn each_program_prints_its_version_and_commit() {
    let commit = checkout_commit().unwrap_or_else(|| "unknown".to_string());
    for program in ["till", "tillctl", "till-server"] {
        let out = Command::new(bin(program))
            .arg("--version")
            .output()
            .expect("the program runs");
        assert!(out.status.success(), "{program} --version exits 0");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(
            text.trim(),
            format!("{program} {} (commit {commit})", env!("CARGO_PKG_VERSION")),
            "{program} names the version and the commit it was built from (another commit: the \
             binary is older than the checkout; `cargo build --workspace --bins` first)"
        );
    }
}
