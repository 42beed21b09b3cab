//! Every Till program names its version and the commit it was built from, the same for all
//! three: `till --version`, `tillctl --version`, `till-server --version`.

use std::process::Command;

use till_e2e::{bin, expected_version};

#[test]
fn each_program_prints_its_version_and_commit() {
    for program in ["till", "tillctl", "till-server"] {
        let out = Command::new(bin(program))
            .arg("--version")
            .output()
            .expect("the program runs");
        assert!(out.status.success(), "{program} --version exits 0");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(
            text.trim(),
            expected_version(program),
            "{program} names the version and the commit it was built from (another commit: the \
             binary is older than the checkout; `cargo build --workspace --bins` first)"
        );
    }
}
