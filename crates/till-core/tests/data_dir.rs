//! Where a till keeps its data when neither `--data-dir` nor `TILL_DATA_DIR` names a place: the
//! same directory as before, so an existing till finds its store after an upgrade. Its own test
//! binary, because it sets the process environment.

#[cfg(target_os = "linux")]
#[test]
fn on_linux_the_platform_dir_is_the_xdg_data_dir_named_after_the_app() {
    use std::path::Path;
    use till_core::data_dir::{platform_dir, resolve_from};

    std::env::set_var("HOME", "/home/cashier");
    std::env::remove_var("XDG_DATA_HOME");
    assert_eq!(
        platform_dir().as_deref(),
        Some(Path::new("/home/cashier/.local/share/app.till.terminal")),
        "where every till so far keeps its store"
    );
    assert_eq!(
        resolve_from(None, None).expect("resolves"),
        Path::new("/home/cashier/.local/share/app.till.terminal")
    );
    std::env::set_var("XDG_DATA_HOME", "/srv/data");
    assert_eq!(
        platform_dir().as_deref(),
        Some(Path::new("/srv/data/app.till.terminal")),
        "an absolute XDG_DATA_HOME wins"
    );
    std::env::set_var("XDG_DATA_HOME", "relative/data");
    assert_eq!(
        platform_dir().as_deref(),
        Some(Path::new("/home/cashier/.local/share/app.till.terminal")),
        "a relative XDG_DATA_HOME is ignored, as the XDG spec says"
    );
}
