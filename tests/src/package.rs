//! Till's Debian package as its test reads it: built around the debug build into a temp dir
//! (`scripts/dist.sh debug`), read with `dpkg-deb`, never installed. The parsers read the
//! packaged text files the way dpkg and systemd read them, keeping only what the test checks.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The root of the repository.
pub fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the repository")
}

/// Runs `program ARGS` and returns its stdout; panics with its stderr when it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/install-deps.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The variables besides `CARGO_PKG_*` that Cargo sets for the crate it builds or tests.
const CRATE_VARIABLES: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// Builds the package of the debug build into `out` and returns its path,
/// `till_VERSION_ARCH.deb`.
pub fn build_debug_package(out: &Path) -> PathBuf {
    let mut dist = Command::new(repository().join("scripts/dist.sh"));
    // Cargo hands a test the variables of the crate under test; a build script that sees them
    // (ring's reads CARGO_MANIFEST_DIR) would run again and `make build`'s work be done twice.
    for (name, _) in std::env::vars() {
        if name.starts_with("CARGO_PKG_") || CRATE_VARIABLES.contains(&name.as_str()) {
            dist.env_remove(name);
        }
    }
    let built = dist
        .arg("debug")
        .env("TILL_DIST_DIR", out)
        .output()
        .expect("scripts/dist.sh runs");
    assert!(
        built.status.success(),
        "scripts/dist.sh debug builds the package: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let arch = run("dpkg", &["--print-architecture"]);
    out.join(format!(
        "till_{}_{}.deb",
        env!("CARGO_PKG_VERSION"),
        arch.trim()
    ))
}

/// The fields of a control file (`dpkg-deb -f`), in order; a continuation line joins the
/// field above it.
pub fn control_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

/// The package names of a `Depends` field, without versions or alternatives' separators.
pub fn depends_names(depends: &str) -> Vec<String> {
    depends
        .split([',', '|'])
        .filter_map(|d| {
            d.trim()
                .split(|c: char| c.is_whitespace() || c == '(')
                .next()
        })
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// One `Key=value` of a systemd unit, with the section it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitKey {
    pub section: String,
    pub key: String,
    pub value: String,
}

/// The keys of a systemd unit file, in order (comments and blank lines skipped).
pub fn unit_keys(text: &str) -> Vec<UnitKey> {
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            keys.push(UnitKey {
                section: section.clone(),
                key: key.trim().to_string(),
                value: value.trim().to_string(),
            });
        }
    }
    keys
}

/// One variable an environment file sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSetting {
    pub name: String,
    pub value: String,
    /// A comment stands right above it (or above the commented-out settings right above it).
    pub documented: bool,
}

/// The variables an environment file (systemd's `EnvironmentFile=`) sets, in order.
pub fn env_settings(text: &str) -> Vec<EnvSetting> {
    let mut settings = Vec::new();
    let mut commented = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            commented = false;
        } else if line.starts_with('#') {
            commented = true;
        } else if let Some((name, value)) = line.split_once('=') {
            settings.push(EnvSetting {
                name: name.trim().to_string(),
                value: value.trim().to_string(),
                documented: commented,
            });
        }
    }
    settings
}

/// The width and height of a PNG image, from its header.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let number = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    Some((number(16)?, number(20)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_fields_join_continuation_lines() {
        let fields = control_fields(
            "Package: till\nDepends: libc6 (>= 2.34), libgtk-3-0\nDescription: POS\n long text\n",
        );
        assert_eq!(
            fields,
            [
                ("Package".to_string(), "till".to_string()),
                (
                    "Depends".to_string(),
                    "libc6 (>= 2.34), libgtk-3-0".to_string()
                ),
                ("Description".to_string(), "POS\nlong text".to_string()),
            ],
            "a continuation line belongs to the field above it"
        );
    }

    #[test]
    fn depends_names_drop_versions_and_alternatives() {
        assert_eq!(
            depends_names("libc6 (>= 2.34), libgcc-s1(>=4.2) | libgcc1, libgtk-3-0"),
            ["libc6", "libgcc-s1", "libgcc1", "libgtk-3-0"],
            "only package names are left"
        );
    }

    #[test]
    fn unit_keys_carry_their_section_and_skip_comments() {
        let keys = unit_keys("# a unit\n[Service]\nUser = till\n; off\n[Install]\nWantedBy=x\n");
        let pairs: Vec<_> = keys
            .iter()
            .map(|k| (k.section.as_str(), k.key.as_str(), k.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("Service", "User", "till"), ("Install", "WantedBy", "x")],
            "each key is read in its section; comments are not keys"
        );
    }

    #[test]
    fn env_settings_know_which_ones_a_comment_explains() {
        let settings = env_settings("# the port\nPORT=1\n\nBARE=2\n# more\n#OFF=3\nON=4\n");
        let read: Vec<_> = settings
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_str(), s.documented))
            .collect();
        assert_eq!(
            read,
            [("PORT", "1", true), ("BARE", "2", false), ("ON", "4", true)],
            "a commented-out setting is not set, and a blank line ends a comment's reach"
        );
    }

    #[test]
    fn png_size_reads_the_header_and_refuses_other_files() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(32u32.to_be_bytes());
        png.extend(48u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((32, 48)), "width, then height");
        assert_eq!(png_size(b"GIF89a"), None, "not a PNG");
        assert_eq!(png_size(&png[..18]), None, "a cut header is not a size");
    }
}
