//! A fake ESC/POS receipt printer: a TCP listener on loopback that reads each job (one
//! connection, to its end) and decodes it into [`Event`]s: the reset, code page, alignment, bold
//! and size changes, each line of text, QR codes, the cut and the drawer kick. It can be stopped
//! and started again on the same port, to play a printer that is switched off and on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use till_core::receipt::escpos::CP858_HIGH;

/// One thing a printer was told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `ESC @`
    Init,
    /// `ESC t n`
    CodePage(u8),
    /// `ESC a n`: 0 left, 1 centre, 2 right.
    Align(u8),
    /// `ESC E n`
    Bold(bool),
    /// `GS ! n`: `0x11` is double width and height.
    Size(u8),
    /// A line of text up to its line feed, decoded from code page 858.
    Text(String),
    /// The data a QR code stores (`GS ( k … 49 80 48 data`).
    Qr(String),
    /// `GS V`
    Cut,
    /// `ESC p m t1 t2`
    Kick { pin: u8, on: u8, off: u8 },
    /// A byte this decoder does not know, which a receipt should never send.
    Unknown(u8),
}

/// Decodes a job's bytes.
pub fn decode(bytes: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let arg = |at: usize| bytes.get(at).copied().unwrap_or(0);
    while i < bytes.len() {
        let b = bytes[i];
        match (b, arg(i + 1)) {
            (0x1b, b'@') => {
                events.push(Event::Init);
                i += 2;
            }
            (0x1b, b't') => {
                events.push(Event::CodePage(arg(i + 2)));
                i += 3;
            }
            (0x1b, b'a') => {
                events.push(Event::Align(arg(i + 2)));
                i += 3;
            }
            (0x1b, b'E') => {
                events.push(Event::Bold(arg(i + 2) != 0));
                i += 3;
            }
            (0x1b, b'p') => {
                events.push(Event::Kick {
                    pin: arg(i + 2),
                    on: arg(i + 3),
                    off: arg(i + 4),
                });
                i += 5;
            }
            (0x1d, b'!') => {
                events.push(Event::Size(arg(i + 2)));
                i += 3;
            }
            (0x1d, b'V') => {
                events.push(Event::Cut);
                // Functions A (0, 1, 48, 49) take no more; B (65, 66) a feed count.
                i += if matches!(arg(i + 2), 65 | 66) { 4 } else { 3 };
            }
            (0x1d, b'(') if arg(i + 2) == b'k' => {
                let len = usize::from(u16::from_le_bytes([arg(i + 3), arg(i + 4)]));
                let body = bytes.get(i + 5..i + 5 + len).unwrap_or_default();
                if let [b'1', b'P', b'0', data @ ..] = body {
                    events.push(Event::Qr(String::from_utf8_lossy(data).into_owned()));
                }
                i += 5 + len;
            }
            (b'\n', _) => {
                events.push(Event::Text(std::mem::take(&mut text)));
                i += 1;
            }
            (0x20..=0x7e, _) => {
                text.push(char::from(b));
                i += 1;
            }
            (0x80..=0xff, _) => {
                text.extend(CP858_HIGH.chars().nth(usize::from(b - 0x80)));
                i += 1;
            }
            _ => {
                events.push(Event::Unknown(b));
                i += 1;
            }
        }
    }
    events
}

/// The text lines of a decoded job, trimmed of the spaces that place them.
pub fn lines(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) => Some(t.trim().to_owned()),
            _ => None,
        })
        .collect()
}

/// A fake printer listening on loopback.
pub struct FakePrinter {
    addr: SocketAddr,
    jobs: Arc<Mutex<Vec<Vec<Event>>>>,
    accepting: JoinHandle<()>,
}

impl FakePrinter {
    /// Starts a printer on a free port.
    pub async fn start() -> FakePrinter {
        Self::start_on("127.0.0.1:0".parse().expect("an address"), Arc::default()).await
    }

    async fn start_on(addr: SocketAddr, jobs: Arc<Mutex<Vec<Vec<Event>>>>) -> FakePrinter {
        let listener = TcpListener::bind(addr).await.expect("the printer's port");
        let addr = listener.local_addr().expect("an address");
        let printed = Arc::clone(&jobs);
        let accepting = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let printed = Arc::clone(&printed);
                tokio::spawn(async move {
                    let mut bytes = Vec::new();
                    if stream.read_to_end(&mut bytes).await.is_ok() {
                        printed.lock().expect("jobs").push(decode(&bytes));
                    }
                });
            }
        });
        FakePrinter {
            addr,
            jobs,
            accepting,
        }
    }

    /// Switches the printer off: once this returns, its port refuses connections until
    /// [`SwitchedOff::start_again`] brings it back on the same port.
    pub async fn switch_off(self) -> SwitchedOff {
        self.accepting.abort();
        // The listener is closed once the aborted task is gone.
        let _ = self.accepting.await;
        SwitchedOff {
            addr: self.addr,
            jobs: self.jobs,
        }
    }

    /// `tcp://127.0.0.1:PORT`, as `tillctl printer set` takes it.
    pub fn url(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// Every job printed so far, decoded, in the order they arrived.
    pub fn jobs(&self) -> Vec<Vec<Event>> {
        self.jobs.lock().expect("jobs").clone()
    }

    /// The jobs printed once there are at least `n` (a job lands once its connection is read
    /// to the end, a moment after the sender is done); panics after 10 s.
    pub async fn wait_for_jobs(&self, n: usize) -> Vec<Vec<Event>> {
        for _ in 0..200 {
            let jobs = self.jobs();
            if jobs.len() >= n {
                return jobs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the printer got {} jobs, not {n}", self.jobs().len());
    }
}

/// A printer switched off.
pub struct SwitchedOff {
    addr: SocketAddr,
    jobs: Arc<Mutex<Vec<Vec<Event>>>>,
}

impl SwitchedOff {
    /// Switches it on again on the same port, with the jobs it printed before.
    pub async fn start_again(self) -> FakePrinter {
        FakePrinter::start_on(self.addr, self.jobs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_reads_back_what_a_receipt_sends() {
        let mut bytes = vec![0x1b, b'@', 0x1b, b't', 19, 0x1b, b'a', 1, 0x1b, b'E', 1];
        bytes.extend_from_slice(&[0x1d, b'!', 0x11, b'C', b'a', b'f', 0x82, b'\n']);
        bytes.extend_from_slice(&[0x1d, b'(', b'k', 5, 0, b'1', b'P', b'0', b'I', b'D']);
        bytes.extend_from_slice(&[0x1d, b'V', 66, 3, 0x1b, b'p', 0, 25, 250]);
        assert_eq!(
            decode(&bytes),
            vec![
                Event::Init,
                Event::CodePage(19),
                Event::Align(1),
                Event::Bold(true),
                Event::Size(0x11),
                Event::Text("Café".into()),
                Event::Qr("ID".into()),
                Event::Cut,
                Event::Kick {
                    pin: 0,
                    on: 25,
                    off: 250
                },
            ]
        );
    }
}
