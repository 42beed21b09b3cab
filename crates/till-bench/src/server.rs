//! The real binaries the benchmarks drive: `till-server` replicas and `tillctl`, found next to
//! `till-bench` (and built there first when missing).

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The binary `name` (its package has the same name) next to this one, built there first when
/// it is missing.
pub fn sibling(name: &str) -> BenchResult<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    if path.exists() {
        return Ok(path);
    }
    let profile_dir = exe.parent().ok_or("no directory of till-bench")?;
    let target_dir = profile_dir.parent().ok_or("no target directory")?;
    eprintln!("building {name} next to till-bench");
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .args(["build", "-p", name, "--bin", name])
        .env("CARGO_TARGET_DIR", target_dir);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    if !build.status()?.success() || !path.exists() {
        return Err(format!(
            "{} is missing and could not be built: cargo build --release -p {name}",
            path.display()
        )
        .into());
    }
    Ok(path)
}

/// Where the back office keeps its data: `--data-dir DIR` or `--database URL`.
#[derive(Clone)]
pub enum Database {
    Dir(PathBuf),
    Url(String),
}

impl Database {
    pub fn args(&self) -> Vec<String> {
        match self {
            Database::Dir(d) => vec!["--data-dir".into(), d.display().to_string()],
            Database::Url(u) => vec!["--database".into(), u.clone()],
        }
    }

    /// Runs a `till-server` command on this database and reads its JSON answer.
    pub fn cli_json(&self, args: &[&str]) -> BenchResult<serde_json::Value> {
        let out = Command::new(sibling("till-server")?)
            .args(args)
            .args(self.args())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "till-server {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Adds a terminal and returns its token.
    pub fn add_terminal(&self, name: &str) -> BenchResult<String> {
        let added = self.cli_json(&["terminal", "add", name, "--json"])?;
        Ok(added["token"].as_str().ok_or("no token")?.to_string())
    }
}

/// A running `till-server serve` on loopback, killed when dropped.
pub struct Replica {
    child: std::process::Child,
    pub url: String,
}

impl Replica {
    pub fn start(db: &Database) -> BenchResult<Replica> {
        use std::io::BufRead;
        let mut child = Command::new(sibling("till-server")?)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(db.args())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        break url.trim().to_string();
                    }
                }
                _ => return Err("till-server did not say where it listens".into()),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(Replica { child, url })
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
