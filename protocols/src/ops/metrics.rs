//! The Prometheus endpoint (`--metrics ADDR`): `GET /metrics` in the text exposition format
//! (version 0.0.4), on a thread of its own.
//!
//! Nothing is published on the hot path. On each scrape the endpoint's thread asks every
//! worker, through [`Handle::call`], for a copy of its per-server core counters
//! ([`ListenerStats`]); the closure runs between two turns of that worker's loop, copies a
//! few hundred bytes and sends them back over a channel (it never waits). The protocol
//! counters ([`counters`](super::counters)) are atomics the endpoint reads directly. A
//! worker that does not answer within two seconds is left out of that scrape.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use netreactor::{CloseReason, Handle, ListenerStats};

use super::counters::{FtpCounters, HttpCounters, TelnetCounters, WsCounters};
use super::LogSink;

/// The counters one worker's servers keep, and the labels they report under
/// (`[plaintext, TLS]`).
#[derive(Debug, Default)]
pub struct WorkerCounters {
    /// The HTTP(S) server's responses (`http`, `https`).
    pub http: Arc<HttpCounters>,
    /// WebSocket messages of upgrades on the HTTP(S) ports (`http`, `https`).
    pub http_ws: Arc<WsCounters>,
    /// The WebSocket echo server's messages (`ws`, `wss`).
    pub ws: Arc<WsCounters>,
    /// FTP transfers (`ftp`, `ftps`: sessions protected by TLS count under `ftps`).
    pub ftp: Arc<FtpCounters>,
    /// Telnet users (`telnet`, `telnets`).
    pub telnet: Arc<TelnetCounters>,
}

struct Worker {
    index: usize,
    handle: Handle,
    counters: Arc<WorkerCounters>,
}

/// Every worker's handle and counters, filled as the workers start.
#[derive(Default)]
pub struct Registry {
    workers: Mutex<Vec<Worker>>,
    logs: Mutex<Vec<(&'static str, Arc<LogSink>)>>,
}

impl Registry {
    /// Records worker `index` (its reactor's handle and its counters).
    pub fn add_worker(&self, index: usize, handle: Handle, counters: Arc<WorkerCounters>) {
        let mut w = self.workers.lock().unwrap();
        w.push(Worker {
            index,
            handle,
            counters,
        });
        w.sort_by_key(|w| w.index);
    }

    /// Reports `sink`'s dropped lines as `log="name"`.
    pub fn add_log(&self, name: &'static str, sink: Arc<LogSink>) {
        self.logs.lock().unwrap().push((name, sink));
    }

    /// The whole exposition now.
    pub fn render(&self) -> String {
        let workers: Vec<(usize, Handle, Arc<WorkerCounters>)> = self
            .workers
            .lock()
            .unwrap()
            .iter()
            .map(|w| (w.index, w.handle.clone(), w.counters.clone()))
            .collect();
        let (tx, rx) = mpsc::channel();
        let mut asked = 0;
        for (index, handle, _) in &workers {
            let (tx, index) = (tx.clone(), *index);
            let sent = handle.call(move |cx| {
                let _ = tx.send((index, cx.listener_stats().to_vec()));
            });
            asked += usize::from(sent);
        }
        drop(tx);
        let mut core: Vec<(usize, Vec<ListenerStats>)> = Vec::new();
        for _ in 0..asked {
            match rx.recv_timeout(Duration::from_secs(2)) {
                Ok(r) => core.push(r),
                Err(_) => break,
            }
        }
        core.sort_by_key(|(i, _)| *i);
        let mut e = Exposition::default();
        core_families(&mut e, &core);
        protocol_families(&mut e, &workers);
        let logs = self.logs.lock().unwrap();
        e.family(
            "netreactor_log_lines_dropped_total",
            "counter",
            "Log lines dropped because the log writer fell behind.",
        );
        for (name, sink) in logs.iter() {
            e.sample(
                "netreactor_log_lines_dropped_total",
                &[("log", name)],
                sink.dropped(),
            );
        }
        e.out
    }
}

/// Text exposition being written.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"");
                escape_label(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escape_label(out: &mut String, v: &str) {
    for ch in v.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn core_families(e: &mut Exposition, core: &[(usize, Vec<ListenerStats>)]) {
    type Field = fn(&ListenerStats) -> u64;
    let plain: [(&str, &str, &str, Field); 7] = [
        (
            "netreactor_connections_accepted_total",
            "counter",
            "Connections accepted (refused ones included).",
            |s| s.accepted,
        ),
        (
            "netreactor_connections_open",
            "gauge",
            "Connections open now.",
            |s| s.open,
        ),
        (
            "netreactor_connections_lingering",
            "gauge",
            "Closed connections draining what their peer still sends.",
            |s| s.lingering,
        ),
        (
            "netreactor_bytes_received_total",
            "counter",
            "Bytes read from connections and their data/CGI channels.",
            |s| s.bytes_in,
        ),
        (
            "netreactor_bytes_sent_total",
            "counter",
            "Bytes written to connections and their data/CGI channels.",
            |s| s.bytes_out,
        ),
        (
            "netreactor_refused_total",
            "counter",
            "Connections refused over a connection cap (total, per server, per source).",
            |s| s.refused,
        ),
        (
            "netreactor_timeouts_total",
            "counter",
            "Timeouts: idle, header, body, data channel, handshake.",
            |s| s.timeouts,
        ),
    ];
    let servers = || {
        core.iter().flat_map(|(w, sets)| {
            sets.iter()
                .filter(|s| !s.label.is_empty())
                .map(move |s| (w.to_string(), s))
        })
    };
    for (name, kind, help, field) in plain {
        e.family(name, kind, help);
        for (w, s) in servers() {
            e.sample(name, &[("server", &s.label), ("worker", &w)], field(s));
        }
    }
    let name = "netreactor_connections_closed_total";
    e.family(name, "counter", "Connections closed, by reason.");
    for (w, s) in servers() {
        for (i, reason) in CloseReason::KINDS.iter().enumerate() {
            let labels = [
                ("server", s.label.as_str()),
                ("worker", &w),
                ("reason", reason),
            ];
            e.sample(name, &labels, s.closed[i]);
        }
    }
    let name = "netreactor_output_limit_closes_total";
    e.family(
        name,
        "counter",
        "Connections closed for not reading their output.",
    );
    let at = CloseReason::OutputLimit.kind_index();
    for (w, s) in servers() {
        e.sample(name, &[("server", &s.label), ("worker", &w)], s.closed[at]);
    }
}

fn protocol_families(e: &mut Exposition, workers: &[(usize, Handle, Arc<WorkerCounters>)]) {
    const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    let name = "netreactor_http_responses_total";
    e.family(name, "counter", "HTTP responses, by status class.");
    for (w, _, c) in workers {
        let w = w.to_string();
        for (tls, server) in ["http", "https"].iter().enumerate() {
            for (i, code) in CLASSES.iter().enumerate() {
                let labels = [("server", *server), ("worker", &w), ("code", code)];
                e.sample(name, &labels, c.http.responses[tls][i].get());
            }
        }
    }
    let name = "netreactor_websocket_messages_total";
    e.family(name, "counter", "WebSocket data messages, by direction.");
    for (w, _, c) in workers {
        let w = w.to_string();
        for (set, servers) in [(&c.http_ws, ["http", "https"]), (&c.ws, ["ws", "wss"])] {
            for (tls, server) in servers.iter().enumerate() {
                for (dir, n) in [
                    ("in", &set.messages_in[tls]),
                    ("out", &set.messages_out[tls]),
                ] {
                    let labels = [("server", *server), ("worker", &w), ("direction", dir)];
                    e.sample(name, &labels, n.get());
                }
            }
        }
    }
    type Ftp = fn(&FtpCounters) -> &[[super::Counter; 2]; 2];
    let ftp: [(&str, &str, Ftp); 3] = [
        (
            "netreactor_ftp_transfers_total",
            "FTP transfers completed (226), by direction.",
            |c| &c.transfers,
        ),
        (
            "netreactor_ftp_transfers_failed_total",
            "FTP transfers failed or aborted, by direction.",
            |c| &c.failed,
        ),
        (
            "netreactor_ftp_transfer_bytes_total",
            "Data bytes of completed FTP transfers, by direction.",
            |c| &c.bytes,
        ),
    ];
    for (name, help, field) in ftp {
        e.family(name, "counter", help);
        for (w, _, c) in workers {
            let w = w.to_string();
            for (tls, server) in ["ftp", "ftps"].iter().enumerate() {
                for (d, dir) in ["upload", "download"].iter().enumerate() {
                    let labels = [("server", *server), ("worker", &w), ("direction", dir)];
                    e.sample(name, &labels, field(&c.ftp)[tls][d].get());
                }
            }
        }
    }
    let name = "netreactor_telnet_users";
    e.family(name, "gauge", "Telnet users in the chat now.");
    for (w, _, c) in workers {
        let w = w.to_string();
        for (tls, server) in ["telnet", "telnets"].iter().enumerate() {
            let labels = [("server", *server), ("worker", w.as_str())];
            e.sample(name, &labels, c.telnet.users[tls].get());
        }
    }
    let name = "netreactor_telnet_logins_total";
    e.family(name, "counter", "Telnet users who joined the chat.");
    for (w, _, c) in workers {
        let w = w.to_string();
        for (tls, server) in ["telnet", "telnets"].iter().enumerate() {
            let labels = [("server", *server), ("worker", w.as_str())];
            e.sample(name, &labels, c.telnet.logins[tls].get());
        }
    }
}

/// Serves `GET /metrics` from `registry` on `addr`, on a thread of its own; returns the
/// bound address.
pub fn serve(addr: SocketAddr, registry: Arc<Registry>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Err(e) = answer(stream, &registry) {
                    tracing::debug!(error = %e, "metrics: scrape failed");
                }
            }
        })?;
    Ok(local)
}

/// One scrape: reads the request head (2 s at most), answers, closes.
fn answer(mut s: TcpStream, registry: &Registry) -> io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let (status, ctype, body) = match (method, path) {
        (b"GET" | b"HEAD", b"/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            registry.render(),
        ),
        (b"GET" | b"HEAD", _) => (
            "404 Not Found",
            "text/plain",
            "not found: try /metrics\n".into(),
        ),
        _ => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != b"HEAD" {
        out.push_str(&body);
    }
    s.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::escape_label;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut s = String::new();
        escape_label(&mut s, "a\\b\"c\nd");
        assert_eq!(s, "a\\\\b\\\"c\\nd");
    }
}
