//! Protocol-level counters: HTTP responses by status class, WebSocket messages, FTP
//! transfers, Telnet users. Each is bumped once per event (a response, a message, a
//! finished transfer), never per byte, with a relaxed atomic add on a line only its own
//! reactor thread writes; the metrics exporter reads them from its own thread.
//!
//! Every set counts twice, by transport: index 0 for plaintext connections, 1 for TLS
//! ([`Context::is_tls`](netreactor::Context::is_tls)), so one server serving `http` and
//! `https` (or `ws` and `wss`, ...) reports both.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A monotonic counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The value now.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (users online).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds `n` (negative: subtracts).
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The value now.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// HTTP responses by status class, per transport: `responses[tls][class]`, class 0 for
/// `1xx` to 4 for `5xx`.
#[derive(Debug, Default)]
pub struct HttpCounters {
    /// Responses written (heads sent), by transport and status class.
    pub responses: [[Counter; 5]; 2],
}

impl HttpCounters {
    /// Counts a response of `status` on a TLS connection or not.
    pub fn response(&self, tls: bool, status: u16) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.responses[tls as usize][class].add(1);
    }
}

/// WebSocket data messages (text and binary, not control frames), per transport.
#[derive(Debug, Default)]
pub struct WsCounters {
    /// Messages received, by transport.
    pub messages_in: [Counter; 2],
    /// Messages sent, by transport.
    pub messages_out: [Counter; 2],
}

/// FTP transfers finished, per transport and direction (`[tls][0]` uploads, `[tls][1]`
/// downloads; listings count as downloads).
#[derive(Debug, Default)]
pub struct FtpCounters {
    /// Transfers that completed (226).
    pub transfers: [[Counter; 2]; 2],
    /// Transfers that failed or were aborted.
    pub failed: [[Counter; 2]; 2],
    /// Data bytes of those transfers.
    pub bytes: [[Counter; 2]; 2],
}

/// Telnet users in the chat, per transport.
#[derive(Debug, Default)]
pub struct TelnetCounters {
    /// Users logged in now.
    pub users: [Gauge; 2],
    /// Logins since start.
    pub logins: [Counter; 2],
}
