//! Counters the reactor keeps, readable from the reactor and from every callback.

/// The reactor's counters since it started. Plain integers: one reactor is one thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted by listeners (children included).
    pub accepted: u64,
    /// Outbound connections opened.
    pub connected: u64,
    /// Connections open now, with the sockets of closed ones still lingering
    /// ([`lingering`](Self::lingering)): what counts against
    /// [`Config::max_connections`](crate::Config::max_connections).
    pub open: u64,
    /// Connections closed (when their protocol's `on_close` ran, lingering or not).
    pub closed: u64,
    /// Bytes read from connections.
    pub bytes_in: u64,
    /// Bytes written to connections (`writev` and `sendfile`).
    pub bytes_out: u64,
    /// Timeouts: connections the core's idle timeout closed or started closing (an `on_idle`
    /// that keeps the connection open, e.g. to ping the peer, is not one), plus those
    /// protocols count.
    pub timeouts: u64,
    /// Connections closed by an error (IO error, input limit, panic).
    pub errors: u64,
    /// Protocol callbacks that panicked.
    pub panics: u64,
    /// Protocol parse errors, as protocols count them.
    pub parse_errors: u64,
    /// Accepts refused for lack of descriptors (EMFILE/ENFILE) or the connection limit.
    pub accept_backoffs: u64,
    /// Connections accepted over a cap and refused ([`Protocol::on_refused`](crate::Protocol::on_refused)).
    pub refused: u64,
    /// Connections closed for not reading their output
    /// ([`CloseReason::OutputLimit`](crate::CloseReason::OutputLimit)).
    pub output_limit_closes: u64,
    /// Connections closed for a malformed PROXY protocol header, or for closing before it
    /// was whole ([`ListenOptions::proxy_protocol`](crate::ListenOptions::proxy_protocol)).
    pub proxy_header_errors: u64,
    /// Connections closed for not sending their PROXY protocol header in time
    /// ([`ListenOptions::proxy_header_timeout`](crate::ListenOptions::proxy_header_timeout)).
    pub proxy_header_timeouts: u64,
    /// Closed connections whose socket lingers now, discarding what the peer still sends
    /// ([`Config::lingering_time`](crate::Config::lingering_time)); they count in `open`.
    pub lingering: u64,
    /// Closes that lingered.
    pub lingered: u64,
}

/// A counter a protocol may bump with [`Context::count`](crate::Context::count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// A protocol-level timeout (header read, keep-alive, data channel, ...).
    Timeout,
    /// Input the protocol rejected as malformed.
    ParseError,
}

impl Stats {
    pub(crate) fn bump(&mut self, counter: Counter) {
        match counter {
            Counter::Timeout => self.timeouts += 1,
            Counter::ParseError => self.parse_errors += 1,
        }
    }
}

/// Counters of one server: the listeners given the same
/// [`ListenOptions::label`](crate::ListenOptions::label), with their connections (the bytes
/// of a connection's child sockets count for it). Plain integers bumped where the reactor
/// already counts into [`Stats`]; read them with
/// [`Context::listener_stats`](crate::Context::listener_stats) or
/// [`FdContext::listener_stats`](crate::FdContext::listener_stats) (from another thread:
/// through [`Handle::call`](crate::Handle::call)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// The listeners' label (empty: listeners without one, and child listeners).
    pub label: String,
    /// Connections accepted (refused ones included).
    pub accepted: u64,
    /// Connections open now.
    pub open: u64,
    /// Connections closed, by [`CloseReason::kind`](crate::CloseReason::kind)'s index in
    /// [`CloseReason::KINDS`](crate::CloseReason::KINDS).
    pub closed: [u64; crate::CloseReason::KINDS.len()],
    /// Bytes read from its connections and their child sockets.
    pub bytes_in: u64,
    /// Bytes written to its connections and their child sockets.
    pub bytes_out: u64,
    /// Connections accepted over a cap and refused.
    pub refused: u64,
    /// Timeouts, as [`Stats::timeouts`] counts them.
    pub timeouts: u64,
    /// Closed connections whose socket lingers now, as [`Stats::lingering`] counts them (not
    /// in `open`: their protocol is done).
    pub lingering: u64,
}

impl ListenerStats {
    /// Connections closed, whatever the reason.
    pub fn closed_total(&self) -> u64 {
        self.closed.iter().sum()
    }
}
