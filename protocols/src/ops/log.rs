//! Buffered log files (the HTTP access log, the FTP xferlog), written off the reactor
//! threads.
//!
//! Each worker appends its lines to a buffer of its own ([`LogWriter::line`]: a memory copy
//! under a mutex only the writer thread also takes, for the time of a `Vec` swap). A writer
//! thread swaps every buffer out once a second, or as soon as one passes 64 KiB, and
//! writes it to the file (opened `O_APPEND`) or to stdout. A reactor thread never makes the
//! system call and never waits on the disk: if the disk falls behind and a buffer reaches
//! 1 MiB, further lines are dropped and counted ([`LogSink::dropped`]) until the writer
//! catches up.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::time::{unix_now, Civil};

/// A buffer that asks the writer to come now.
const FLUSH_AT: usize = 64 * 1024;
/// A buffer that takes no more lines until written.
const CAP: usize = 1024 * 1024;
/// How often the writer comes unasked.
const PERIOD: Duration = Duration::from_secs(1);

/// One worker's lines waiting for the writer, and its cached timestamp.
#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    stamp_secs: i64,
    stamp: String,
}

struct Shared {
    buffers: Vec<Mutex<Pending>>,
    dropped: AtomicU64,
    stop: AtomicBool,
    writer: Mutex<Option<std::thread::Thread>>,
}

impl Shared {
    fn wake_writer(&self) {
        if let Some(t) = self.writer.lock().unwrap().as_ref() {
            t.unpark();
        }
    }
}

/// A log file and the thread that writes it. Dropping it writes what is pending and joins
/// the thread.
pub struct LogSink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Timestamp styles of [`LogWriter::line`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// Common Log Format: `10/Oct/2000:13:55:36 +0000`.
    Clf,
    /// xferlog (ctime): `Tue Oct 10 13:55:36 2000`.
    Ctime,
}

/// One worker's end of a [`LogSink`]: `Send`, cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
    index: usize,
    stamp: Stamp,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl LogSink {
    /// Opens `path` for appending (`-`: stdout) for `workers` workers' lines.
    pub fn open(path: &Path, workers: usize) -> io::Result<LogSink> {
        let mut out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            Box::new(OpenOptions::new().create(true).append(true).open(path)?)
        };
        let shared = Arc::new(Shared {
            buffers: (0..workers.max(1)).map(|_| Mutex::default()).collect(),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            writer: Mutex::new(None),
        });
        let s = shared.clone();
        let name = format!("log {}", path.display());
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            let mut spare = Vec::new();
            loop {
                let stop = s.stop.load(Ordering::Acquire);
                for b in &s.buffers {
                    std::mem::swap(&mut b.lock().unwrap().data, &mut spare);
                    if !spare.is_empty() {
                        if let Err(e) = out.write_all(&spare).and_then(|_| out.flush()) {
                            tracing::warn!(error = %e, "log: write failed");
                        }
                        spare.clear();
                    }
                }
                if stop {
                    return;
                }
                std::thread::park_timeout(PERIOD);
            }
        })?;
        *shared.writer.lock().unwrap() = Some(thread.thread().clone());
        Ok(LogSink {
            shared,
            thread: Some(thread),
        })
    }

    /// The writer of worker `index` (`index` modulo the workers opened for), with timestamps
    /// in `stamp`'s style.
    pub fn writer(&self, index: usize, stamp: Stamp) -> LogWriter {
        LogWriter {
            shared: self.shared.clone(),
            index: index % self.shared.buffers.len(),
            stamp,
        }
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake_writer();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl LogWriter {
    /// Appends one line: `write` gets the buffer and the current timestamp, and writes the
    /// line with its `\n`. Dropped (and counted) while the buffer is full.
    pub fn line(&self, write: impl FnOnce(&mut Vec<u8>, &str)) {
        let mut p = self.shared.buffers[self.index].lock().unwrap();
        if p.data.len() >= CAP {
            drop(p);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let now = unix_now();
        if now != p.stamp_secs || p.stamp.is_empty() {
            let c = Civil::from_unix(now);
            p.stamp = match self.stamp {
                Stamp::Clf => c.clf(),
                Stamp::Ctime => c.ctime(),
            };
            p.stamp_secs = now;
        }
        let Pending { data, stamp, .. } = &mut *p;
        write(data, stamp);
        let full = data.len() >= FLUSH_AT;
        drop(p);
        if full {
            self.shared.wake_writer();
        }
    }
}

/// Appends `field` for a log line: printable ASCII as it is, `"` and `\` escaped, other
/// bytes as `\xHH` (so a request cannot forge a line or break a quoted field).
pub fn push_escaped(out: &mut Vec<u8>, field: &[u8]) {
    // Most fields need no escape: one copy instead of a push per byte.
    if field
        .iter()
        .all(|&b| matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\')
    {
        out.extend_from_slice(field);
        return;
    }
    for &b in field {
        match b {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            0x20..=0x7e => out.push(b),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::push_escaped;

    #[test]
    fn plain_fields_are_copied_and_others_escaped() {
        let mut out = b"x ".to_vec();
        push_escaped(&mut out, b"GET /a.txt");
        assert_eq!(out, b"x GET /a.txt");
        out.clear();
        push_escaped(&mut out, b"a\"b\\c\r\n\xff~");
        assert_eq!(out, b"a\\\"b\\\\c\\x0d\\x0a\\xff~");
    }
}
