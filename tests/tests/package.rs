//! Till's Debian package installs it like a product: the desktop app with its menu entry and
//! icon, `tillctl`, and `till-server` with a systemd unit that stays disabled until enabled and
//! a documented default config. The test builds the package around the debug build, unpacks it
//! into a temp dir (never into the system) and runs the packaged programs against each other.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use till_e2e::package::*;
use till_e2e::*;

/// The unit's settings live here; the config is a conffile, so upgrades keep an admin's edits.
const CONFIG: &str = "/etc/till/till-server.env";
const UNIT: &str = "usr/lib/systemd/system/till-server.service";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_installs_the_app_tillctl_and_a_disabled_back_office_that_work() {
    let work = tempfile::tempdir().expect("temp dir");
    let deb = build_debug_package(work.path());
    let deb = deb.to_str().expect("a UTF-8 path");
    check_control(deb, work.path());

    let root = work.path().join("root");
    run(
        "dpkg-deb",
        &["-x", deb, root.to_str().expect("a UTF-8 path")],
    );
    check_desktop_entry(&root);
    check_icons(&root);
    check_unit_and_config(&root);
    for program in ["till", "tillctl", "till-server"] {
        let out = Command::new(root.join("usr/bin").join(program))
            .arg("--version")
            .output()
            .expect("the packaged program runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            expected_version(program),
            "the packaged {program} names the workspace version and the commit it was built from"
        );
    }
    sell_through_the_packaged_programs(&root).await;
}

/// The package says what it is and what it needs, marks the config a conffile and enables
/// nothing when installed.
fn check_control(deb: &str, work: &Path) {
    let fields = control_fields(&run("dpkg-deb", &["-f", deb]));
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("the package has a {name} field: {fields:?}"))
    };
    assert_eq!(field("Package"), "till", "apt installs it as `till`");
    assert_eq!(
        field("Version"),
        env!("CARGO_PKG_VERSION"),
        "the package carries the workspace version"
    );
    assert_eq!(
        field("Architecture"),
        run("dpkg", &["--print-architecture"]).trim(),
        "built for this machine's architecture"
    );
    let depends = depends_names(&field("Depends"));
    for needed in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libc6", "libgcc-s1"] {
        assert!(
            depends.iter().any(|d| d == needed),
            "the package depends on {needed}, which the binaries link: {depends:?}"
        );
    }

    let control = work.join("control");
    run(
        "dpkg-deb",
        &["-e", deb, control.to_str().expect("a UTF-8 path")],
    );
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap_or_default();
    assert!(
        conffiles.lines().any(|l| l == CONFIG),
        "{CONFIG} is a conffile, kept across upgrades: {conffiles:?}"
    );
    assert!(
        !control.join("postinst").exists(),
        "no maintainer script enables or starts the back office on install"
    );
}

/// The app is in the desktop menu, with a valid entry that starts the packaged binary.
fn check_desktop_entry(root: &Path) {
    let entry = root.join("usr/share/applications/Till.desktop");
    let text = std::fs::read_to_string(&entry).expect("the package installs Till.desktop");
    run(
        "desktop-file-validate",
        &[entry.to_str().expect("a UTF-8 path")],
    );
    let keys = unit_keys(&text);
    let value = |key: &str| {
        keys.iter()
            .find(|k| k.section == "Desktop Entry" && k.key == key)
            .map(|k| k.value.clone())
            .unwrap_or_else(|| panic!("the desktop entry has {key}: {text}"))
    };
    assert!(
        root.join("usr/bin").join(value("Exec")).exists(),
        "the entry starts the packaged app: {text}"
    );
    assert_eq!(value("Icon"), "till", "the entry shows the packaged icon");
    let categories = value("Categories");
    assert!(
        categories.split(';').any(|c| c == "Office")
            && categories.split(';').any(|c| c == "Finance"),
        "the app is filed under Office / Finance: {categories}"
    );
}

/// The icon comes in the sizes menus and docks ask for, each PNG the size its folder names.
fn check_icons(root: &Path) {
    for size in [32, 48, 64, 128] {
        let path = root.join(format!(
            "usr/share/icons/hicolor/{size}x{size}/apps/till.png"
        ));
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("the package installs {}: {e}", path.display()));
        assert_eq!(
            png_size(&bytes),
            Some((size, size)),
            "{} is a {size}×{size} PNG",
            path.display()
        );
    }
}

/// The unit runs the packaged server as a dynamic user on its state dir, with the settings of
/// the default config, each of them explained there.
fn check_unit_and_config(root: &Path) {
    let unit_text = std::fs::read_to_string(root.join(UNIT)).expect("the package installs a unit");
    let unit = unit_keys(&unit_text);
    let value = |section: &str, key: &str| {
        unit.iter()
            .find(|k| k.section == section && k.key == key)
            .map(|k| k.value.clone())
            .unwrap_or_else(|| panic!("the unit sets {key} in [{section}]: {unit_text}"))
    };
    let exec = value("Service", "ExecStart");
    assert!(
        exec.starts_with("/usr/bin/till-server serve "),
        "the unit serves with the packaged server: {exec}"
    );
    assert_eq!(
        value("Service", "DynamicUser"),
        "yes",
        "no fixed system user"
    );
    assert_eq!(value("Service", "EnvironmentFile"), CONFIG);
    assert_eq!(value("Install", "WantedBy"), "multi-user.target");

    let config_text =
        std::fs::read_to_string(root.join(&CONFIG[1..])).expect("the package installs a config");
    let config = env_settings(&config_text);
    for setting in &config {
        assert!(
            setting.documented,
            "a comment says what {} is for: {config_text}",
            setting.name
        );
    }
    let setting = |name: &str| {
        config
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value.clone())
            .unwrap_or_else(|| panic!("the config sets {name}: {config_text}"))
    };
    assert_eq!(
        setting("TILL_SERVER_DATA_DIR"),
        format!("/var/lib/{}", value("Service", "StateDirectory")),
        "the data dir is the unit's state dir"
    );
    assert!(
        setting("TILL_SERVER_LISTEN")
            .parse::<std::net::SocketAddr>()
            .is_ok(),
        "the config names an address to listen on"
    );
    // Every variable the command line uses is set by the config.
    for variable in exec
        .split(['$', '{', '}', ' '])
        .filter(|w| w.starts_with("TILL_"))
    {
        setting(variable);
    }
    assert!(
        !root.join("etc/systemd").exists(),
        "the package links the unit into no target: it stays disabled until enabled"
    );

    verify_unit(root, &unit_text);
}

/// `systemd-analyze verify` on the unit, with its binary where the package was unpacked.
fn verify_unit(root: &Path, unit_text: &str) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: the unit was checked by its keys only");
        return;
    }
    let unpacked = root.join("usr/bin/till-server");
    let copy = root.join("till-server.service");
    std::fs::write(
        &copy,
        unit_text.replace("/usr/bin/till-server", unpacked.to_str().expect("UTF-8")),
    )
    .expect("the unit is copied");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .expect("systemd-analyze runs");
    let complaints = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && complaints.trim().is_empty(),
        "systemd accepts the unit without a warning: {complaints}"
    );
}

/// The packaged back office serves on loopback; the packaged `tillctl` enrols with it, rings
/// up a sale and delivers it.
async fn sell_through_the_packaged_programs(root: &Path) {
    let server_program = root.join("usr/bin/till-server");
    let tillctl_program = root.join("usr/bin/tillctl");
    let server_dir = tempfile::tempdir().expect("temp dir");
    let till = tempfile::tempdir().expect("temp dir");
    let office = BackOffice::DataDir(server_dir.path().to_path_buf());
    let server =
        Server::start_program(&server_program, &office, &["--listen", "127.0.0.1:0"]).await;

    let added = packaged(
        &server_program,
        server_dir.path(),
        &["terminal", "add", "packaged", "--json"],
    )
    .await;
    let added: Value = serde_json::from_str(added.trim()).expect("terminal add --json");
    let terminal_id = added["id"].as_str().expect("an id");
    let token = added["token"].as_str().expect("a token");
    let url = server.url();
    for args in [
        &["enrol", "--server", &url, "--token", token][..],
        &["ring-up", "--demo", "1"],
        &["sync", "--until-drained", "--timeout", "60"],
    ] {
        packaged(&tillctl_program, till.path(), args).await;
    }
    let stats = stats(server_dir.path()).await;
    assert_eq!(
        terminal_stats(&stats, terminal_id)["sales"],
        1,
        "the sale rung up by the packaged tillctl reached the packaged back office: {stats}"
    );
    assert_delivered_exactly_once(server_dir.path(), till.path(), terminal_id).await;
}

/// Runs a packaged program, `PROGRAM --data-dir DIR ARGS`; returns its stdout.
async fn packaged(program: &Path, dir: &Path, args: &[&str]) -> String {
    let out = tokio::process::Command::new(program)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .await
        .expect("the packaged program runs");
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}
