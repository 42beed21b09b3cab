//! What Till's programs share: the version they print ([`build_info`]), the flags of a
//! customer's fields ([`customer`]), and for the command-line ones (`tillctl`, `till-server`,
//! `till-bench`) output on stdout, one line at a time. A reader that stops early (`tillctl status | head -1`) closes the
//! pipe; the program then ends at once, quietly and successfully, as `head` expects,
//! where `println!` would panic with "failed printing to stdout: Broken pipe".

use std::io::Write;

pub mod build_info;
pub mod customer;

/// Writes `args` and a newline to stdout. On a closed pipe the program exits 0 on the spot;
/// any other write failure exits 1 with the reason on stderr.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

/// `println!` that ends the program quietly when the reader has gone (see [`line`]).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::line(format_args!($($arg)*))
    };
}
