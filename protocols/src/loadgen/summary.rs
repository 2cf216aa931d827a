//! The outcome of a run ([`Report`]): counts, latency percentiles, errors by kind; its text
//! form, its JSON form (fields that do not apply to the mode are absent) and whether the run
//! failed.

use hdrhistogram::Histogram;

use super::Mode;

/// Errors by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Errors {
    /// Connection refused.
    pub refused: u64,
    /// Connection reset or broken pipe.
    pub reset: u64,
    /// No answer within the timeout.
    pub timeout: u64,
    /// Not the protocol's answer.
    pub bad_response: u64,
    /// The server closed with requests in flight.
    pub closed: u64,
    /// Out of local ports or descriptors.
    pub resources: u64,
    /// TLS failed: the handshake (an untrusted certificate, an alert, its timeout) or a bad
    /// record.
    pub tls: u64,
    /// Anything else.
    pub other: u64,
}

impl Errors {
    pub(crate) fn add(&mut self, o: &Errors) {
        self.refused += o.refused;
        self.reset += o.reset;
        self.timeout += o.timeout;
        self.bad_response += o.bad_response;
        self.closed += o.closed;
        self.resources += o.resources;
        self.tls += o.tls;
        self.other += o.other;
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.refused
            + self.reset
            + self.timeout
            + self.bad_response
            + self.closed
            + self.resources
            + self.tls
            + self.other
    }
}

impl std::fmt::Display for Errors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "errors {}", self.total())?;
        let kinds = [
            ("refused", self.refused),
            ("reset", self.reset),
            ("timeout", self.timeout),
            ("bad-response", self.bad_response),
            ("closed", self.closed),
            ("resources", self.resources),
            ("tls", self.tls),
            ("other", self.other),
        ];
        let mut sep = ": ";
        for (name, n) in kinds.into_iter().filter(|&(_, n)| n > 0) {
            write!(f, "{sep}{name} {n}")?;
            sep = ", ";
        }
        Ok(())
    }
}

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Samples recorded (responses after `--warmup`).
    pub samples: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// The percentiles of `hist` (all zero when it is empty).
    pub fn of(hist: &Histogram<u64>) -> Latency {
        if hist.is_empty() {
            return Latency::default();
        }
        Latency {
            samples: hist.len(),
            p50: hist.value_at_quantile(0.5),
            p90: hist.value_at_quantile(0.9),
            p99: hist.value_at_quantile(0.99),
            p999: hist.value_at_quantile(0.999),
            max: hist.max(),
            mean: hist.mean(),
        }
    }
}

/// TLS handshakes a run finished (`https://`, `wss://`, `tls://` targets).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TlsSummary {
    /// Full handshakes.
    pub full: u64,
    /// Resumed handshakes (the server took a ticket from an earlier one).
    pub resumed: u64,
    /// Handshakes per second over the run: with `--close`, the run's figure.
    pub per_second: f64,
}

/// The outcome of a run. In JSON, a field that does not apply to the mode is absent:
/// `non_2xx` outside `http`, `responses`/`throughput`/`latency_us` in `hold`, `send_lag_us`
/// in a closed loop, `tls` without TLS.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Mode.
    pub mode: Mode,
    /// Connections asked for.
    pub connections: usize,
    /// Connections established.
    pub connected: u64,
    /// Milliseconds from the start of the run until the last connection was established.
    pub connect_ms: f64,
    /// Connections established per second over `connect_ms`.
    pub connect_rate: f64,
    /// When the run started, seconds since the Unix epoch.
    pub start_unix: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Responses received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responses: Option<u64>,
    /// HTTP responses outside 2xx/3xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_2xx: Option<u64>,
    /// `http --reconnect`: requests sent again on a new connection because the server closed
    /// an idle keep-alive connection as they went out (before any byte of their answer), as
    /// HTTP clients do (RFC 9112 §9.3.1). Their latency counts from the first send's
    /// intended time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resent: Option<u64>,
    /// Responses per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput: Option<f64>,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Latency percentiles (µs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<Latency>,
    /// Open loop: how late requests left after their intended send time (µs). Part of every
    /// latency above: when it is large, the generator (its core, its timer resolution)
    /// rather than the server sets the tail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_lag_us: Option<Latency>,
    /// TLS handshakes by kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSummary>,
    /// Errors by kind.
    pub errors: Errors,
    /// What the first error said (an IO error, rustls's reason for a failed handshake).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl Report {
    /// Why the run failed, if it did: nothing succeeded (no connection in `hold`, no
    /// response in 2xx/3xx otherwise), or failures (errors, and HTTP responses outside
    /// 2xx/3xx) were more than `max_error_rate` of responses plus errors.
    pub fn failure(&self, max_error_rate: Option<f64>) -> Option<String> {
        let errors = self.errors.total();
        if self.mode == Mode::Hold {
            if self.connected == 0 {
                return Some(format!("no connection was established ({})", self.errors));
            }
        } else {
            let good = self.responses.unwrap_or(0) - self.non_2xx.unwrap_or(0);
            if good == 0 {
                let what = if self.mode == Mode::Http {
                    "no response in 2xx/3xx"
                } else {
                    "no response"
                };
                return Some(format!(
                    "{what} ({} of {} connections established, {}{})",
                    self.connected,
                    self.connections,
                    self.errors,
                    match self.non_2xx {
                        Some(n) if n > 0 => format!(", {n} responses outside 2xx/3xx"),
                        _ => String::new(),
                    }
                ));
            }
        }
        let limit = max_error_rate?;
        let failed = errors + self.non_2xx.unwrap_or(0);
        let base = errors + self.responses.unwrap_or(self.connected);
        let rate = failed as f64 / base.max(1) as f64;
        (rate > limit).then(|| {
            format!(
                "failure rate {:.3}% is above --max-error-rate {:.3}% ({}{})",
                rate * 100.0,
                limit * 100.0,
                self.errors,
                match self.non_2xx {
                    Some(n) if n > 0 => format!(", {n} responses outside 2xx/3xx"),
                    _ => String::new(),
                }
            )
        })
    }

    fn connect_text(&self) -> String {
        if self.connected == 0 {
            "none opened".to_string()
        } else if self.connect_ms < 100.0 {
            format!("all opened within {:.1} ms", self.connect_ms)
        } else {
            format!(
                "{:.0}/s over {:.2} s",
                self.connect_rate,
                self.connect_ms / 1000.0
            )
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.connected > self.connections as u64 {
            // `--close`: every connection is replaced once done.
            writeln!(
                f,
                "{}: {} connections at a time, {} opened in all, {:.2} s",
                self.mode, self.connections, self.connected, self.seconds
            )?;
        } else {
            writeln!(
                f,
                "{}: {} of {} connections ({}), {:.2} s",
                self.mode,
                self.connected,
                self.connections,
                self.connect_text(),
                self.seconds
            )?;
        }
        if let (Some(n), Some(rate)) = (self.responses, self.throughput) {
            write!(f, "responses {n} ({rate:.0}/s)")?;
            if let Some(bad) = self.non_2xx {
                write!(f, ", {bad} outside 2xx/3xx")?;
            }
            write!(f, "; ")?;
        }
        writeln!(f, "in {} B, out {} B", self.bytes_in, self.bytes_out)?;
        if let Some(l) = &self.latency_us {
            writeln!(
                f,
                "latency us: p50 {} p90 {} p99 {} p99.9 {} max {} mean {:.1} ({} samples)",
                l.p50, l.p90, l.p99, l.p999, l.max, l.mean, l.samples
            )?;
        }
        if let Some(g) = &self.send_lag_us {
            writeln!(
                f,
                "send lag us (open loop, part of the latency): p50 {} p90 {} p99 {} max {}",
                g.p50, g.p90, g.p99, g.max
            )?;
        }
        if let Some(t) = &self.tls {
            writeln!(
                f,
                "tls handshakes {} ({:.0}/s): full {}, resumed {}",
                t.full + t.resumed,
                t.per_second,
                t.full,
                t.resumed
            )?;
        }
        write!(f, "{}", self.errors)?;
        if let Some(e) = &self.first_error {
            write!(f, "\nfirst error: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(mode: Mode) -> Report {
        Report {
            mode,
            connections: 10,
            connected: 10,
            connect_ms: 3.0,
            connect_rate: 3333.0,
            start_unix: 0.0,
            seconds: 1.0,
            responses: Some(1000),
            non_2xx: (mode == Mode::Http).then_some(0),
            resent: None,
            throughput: Some(1000.0),
            bytes_in: 0,
            bytes_out: 0,
            latency_us: Some(Latency::default()),
            send_lag_us: None,
            tls: None,
            errors: Errors::default(),
            first_error: None,
        }
    }

    #[test]
    fn a_run_without_a_response_failed_and_says_why() {
        let mut r = report(Mode::TcpEcho);
        r.responses = Some(0);
        r.connected = 0;
        r.errors.refused = 10;
        let why = r.failure(None).unwrap();
        assert_eq!(
            why,
            "no response (0 of 10 connections established, errors 10: refused 10)"
        );
        let mut h = report(Mode::Http);
        h.non_2xx = Some(1000);
        assert!(h
            .failure(None)
            .unwrap()
            .starts_with("no response in 2xx/3xx"));
        assert_eq!(report(Mode::Http).failure(None), None);
    }

    #[test]
    fn failures_above_the_limit_fail_the_run() {
        let mut r = report(Mode::Http);
        r.errors.timeout = 5;
        r.non_2xx = Some(6);
        // 11 failed of 1005: 1.09%.
        assert_eq!(r.failure(Some(0.02)), None);
        let why = r.failure(Some(0.01)).unwrap();
        assert!(why.starts_with("failure rate 1.095% is above"), "{why}");
        assert_eq!(r.failure(None), None);
    }

    #[test]
    fn hold_fails_only_without_connections() {
        let mut r = report(Mode::Hold);
        r.responses = None;
        assert_eq!(r.failure(None), None);
        r.connected = 0;
        assert!(r.failure(None).unwrap().starts_with("no connection"));
    }

    #[test]
    fn text_names_the_mode_as_written_and_skips_what_does_not_apply() {
        let t = report(Mode::TcpEcho).to_string();
        assert!(
            t.starts_with("tcp-echo: 10 of 10 connections (all opened within 3.0 ms)"),
            "{t}"
        );
        assert!(!t.contains("2xx"), "{t}");
        assert!(!t.contains("send lag"), "{t}");
        assert!(!t.contains("tls"), "{t}");
        let h = report(Mode::Http).to_string();
        assert!(h.contains("0 outside 2xx/3xx"), "{h}");
        let mut slow = report(Mode::Hold);
        slow.connect_ms = 2000.0;
        slow.connect_rate = 5.0;
        assert!(slow.to_string().contains("(5/s over 2.00 s)"));
    }

    #[test]
    fn json_omits_fields_that_do_not_apply() {
        let v = serde_json::to_value(report(Mode::TcpEcho)).unwrap();
        assert_eq!(v["mode"], "tcp-echo");
        assert!(v.get("send_lag_us").is_none());
        assert!(v.get("non_2xx").is_none());
        assert!(v.get("latency_us").is_some());
        let mut hold = report(Mode::Hold);
        hold.responses = None;
        hold.throughput = None;
        hold.latency_us = None;
        let v = serde_json::to_value(hold).unwrap();
        assert!(v.get("latency_us").is_none() && v.get("responses").is_none());
        assert!(v.get("connect_rate").is_some());
        assert!(v.get("tls").is_none());
    }

    #[test]
    fn tls_handshakes_show_by_kind_in_text_and_json() {
        let mut r = report(Mode::Http);
        r.tls = Some(TlsSummary {
            full: 3,
            resumed: 997,
            per_second: 1000.0,
        });
        r.errors.tls = 2;
        let t = r.to_string();
        assert!(
            t.contains("tls handshakes 1000 (1000/s): full 3, resumed 997"),
            "{t}"
        );
        assert!(t.ends_with("errors 2: tls 2"), "{t}");
        r.first_error = Some("invalid peer certificate: UnknownIssuer".into());
        assert!(t.len() < r.to_string().len());
        assert!(r
            .to_string()
            .ends_with("errors 2: tls 2\nfirst error: invalid peer certificate: UnknownIssuer"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["tls"]["resumed"], 997);
        assert_eq!(v["errors"]["tls"], 2);
    }
}
