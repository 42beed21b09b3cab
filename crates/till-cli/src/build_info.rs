//! The version every Till program prints: the package version and the commit it was built
//! from. A build script calls [`emit_commit`]; the program names itself with
//! [`version!`](crate::version).

use std::path::Path;
use std::process::Command;

/// The variable the build gives the commit in; set it when building outside a git checkout
/// (from a source tarball) to name the commit all the same.
pub const COMMIT_ENV: &str = "TILL_COMMIT";

/// For a build script: gives the crate `TILL_COMMIT`, the short commit of the checkout it is
/// built from (`TILL_COMMIT` of the environment when set, `unknown` outside a git checkout), and
/// asks Cargo to run the script again when the checkout moves to another commit.
pub fn emit_commit() {
    println!("cargo:rerun-if-env-changed={COMMIT_ENV}");
    let commit = match std::env::var(COMMIT_ENV) {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_string(),
        _ => from_git().unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo:rustc-env={COMMIT_ENV}={commit}");
}

/// The short commit of the checkout, after telling Cargo which files name it.
fn from_git() -> Option<String> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let dir = Path::new(&dir);
    let branch = git(dir, &["symbolic-ref", "-q", "HEAD"]);
    for path in ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref()) {
        watch(dir, path);
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"])
}

/// Asks Cargo to run the build script again when the git file `path` changes. Only a file that
/// exists is named: Cargo takes a missing one as changed on every build.
fn watch(dir: &Path, path: &str) {
    if let Some(file) = git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-path", path],
    ) {
        if Path::new(&file).exists() {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}

/// What `git ARGS` prints in `dir`, when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// `"0.1.0 (commit 0123456789ab)"`: the version a program built with [`emit_commit`] prints.
#[macro_export]
macro_rules! version {
    () => {
        concat!(
            env!("CARGO_PKG_VERSION"),
            " (commit ",
            env!("TILL_COMMIT"),
            ")"
        )
    };
}
