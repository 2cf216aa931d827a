//! Configuration of both roles, shared by the connection state machine ([`conn`]) and the
//! server wiring ([`server`]): neither imports the other for it.
//!
//! [`conn`]: super::conn
//! [`server`]: super::server

use std::rc::Rc;
use std::time::Duration;

use super::deflate::DeflateConfig;
use super::handshake::Handshake;
use super::parse::Limits;

/// Chooses a subprotocol from the client's offer (`None`: no subprotocol).
pub type ProtocolSelector = Rc<dyn Fn(&Handshake) -> Option<String>>;
/// Accepts (`true`) or refuses with 403 (`false`) a handshake, typically by its `Origin`.
pub type OriginCheck = Rc<dyn Fn(&Handshake) -> bool>;

/// Default [`ServerConfig::inflate_slice`]: 256 KiB of inflated data per turn.
pub const DEFAULT_INFLATE_SLICE: usize = 256 * 1024;

/// Limits, timeouts, compression and handshake hooks of a WebSocket server.
#[derive(Clone)]
pub struct ServerConfig {
    /// Frame and message size limits (1009 beyond).
    pub limits: Limits,
    /// permessage-deflate settings.
    pub deflate: DeflateConfig,
    /// How long to wait for the peer's close frame (and TCP close) after ours.
    pub close_timeout: Duration,
    /// Time allowed for the opening handshake.
    pub handshake_timeout: Duration,
    /// A connection with no byte from the peer for this long is closed with 1001 "idle
    /// timeout" (checked every quarter of it, so the close comes within 1.25 times it);
    /// after half of it a ping asks for a sign of life, which a live peer's pong gives.
    /// Quiet connections also give back their compression state. Whole seconds, rounded up;
    /// `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Time a data message may take from its first frame to its last; a message still
    /// unfinished then fails the connection with 1008. Whole seconds, rounded up;
    /// `Duration::ZERO`: no limit.
    pub message_timeout: Duration,
    /// Inflated bytes of a compressed message processed per turn: a larger message
    /// continues in later turns, after the other ready connections (CPU fairness).
    pub inflate_slice: usize,
    /// Largest upgrade request head (400 beyond).
    pub max_head: usize,
    /// Subprotocol selection hook.
    pub select_protocol: Option<ProtocolSelector>,
    /// Origin check hook.
    pub check_origin: Option<OriginCheck>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            limits: Limits::default(),
            deflate: DeflateConfig::default(),
            close_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(300)),
            message_timeout: Duration::from_secs(30),
            inflate_slice: DEFAULT_INFLATE_SLICE,
            max_head: 8 * 1024,
            select_protocol: None,
            check_origin: None,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("limits", &self.limits)
            .field("deflate", &self.deflate)
            .field("close_timeout", &self.close_timeout)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("message_timeout", &self.message_timeout)
            .field("inflate_slice", &self.inflate_slice)
            .field("max_head", &self.max_head)
            .finish_non_exhaustive()
    }
}

/// What a client asks for in its handshake.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `Host` header value.
    pub host: String,
    /// Request target, e.g. `/`.
    pub target: String,
    /// Subprotocols to offer.
    pub protocols: Vec<String>,
    /// Offer permessage-deflate.
    pub compress: bool,
    /// Limits on what the server sends.
    pub limits: Limits,
    /// How long to wait for the server's close after ours.
    pub close_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            host: "localhost".into(),
            target: "/".into(),
            protocols: Vec::new(),
            compress: false,
            limits: Limits::default(),
            close_timeout: Duration::from_secs(5),
        }
    }
}
