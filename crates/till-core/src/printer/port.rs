//! Sending bytes to a printer: a TCP connection to its raw port or a write to its device file,
//! each bounded by a timeout so a printer that is off or jammed never holds anything up.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::target::Target;

/// How long a connect or a write may take before the printer counts as offline.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Writes `bytes` to `target` and flushes them. `Ok` means the printer (or its device) took every
/// byte.
pub fn send(target: &Target, bytes: &[u8], timeout: Duration) -> std::io::Result<()> {
    match target {
        Target::None => Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "no printer is set",
        )),
        Target::Tcp { host, port } => {
            let mut last = None;
            for addr in (host.as_str(), *port).to_socket_addrs()? {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(mut stream) => {
                        stream.set_write_timeout(Some(timeout))?;
                        stream.write_all(bytes)?;
                        stream.flush()?;
                        return stream.shutdown(std::net::Shutdown::Write);
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "the host has no address")
            }))
        }
        Target::File(path) => send_to_file(path, bytes, timeout),
    }
}

/// A device file is written on a thread of its own: a write to a printer that is off can block
/// in the kernel, and the caller waits at most `timeout` for it (the thread ends with the write).
fn send_to_file(path: &std::path::Path, bytes: &[u8], timeout: Duration) -> std::io::Result<()> {
    let (done, result) = std::sync::mpsc::channel();
    let path = path.to_owned();
    let bytes = bytes.to_vec();
    std::thread::spawn(move || {
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new().append(true).open(&path)?;
            file.write_all(&bytes)?;
            file.flush()
        };
        let _ = done.send(write());
    });
    result.recv_timeout(timeout).unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the printer's device did not take the job in time",
        ))
    })
}
