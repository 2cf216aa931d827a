//! Server configuration and wiring: the standalone listener, the echo handler, and the
//! function the HTTP server's handlers call to take an upgrade request over.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use netreactor::{ListenOptions, Reactor};

use super::conn::{Handler, Text, Ws, WsConn};
use super::deflate::DeflateConfig;
use super::handshake::{self, Handshake, HandshakeError};
use super::parse::Limits;
use crate::http::{Request, Response};

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
    /// Quiet connections also give back their compression state. `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Time a data message may take from its first frame to its last; a message still
    /// unfinished then fails the connection with 1008.
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

/// Sends every text and binary message back unchanged (the `--ws` server).
#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl Handler for Echo {
    fn on_text(&mut self, ws: &mut Ws<'_, '_>, text: Text) {
        ws.send_text(text);
    }
    fn on_binary(&mut self, ws: &mut Ws<'_, '_>, data: Bytes) {
        ws.send_binary(data);
    }
}

/// Listens on `addr`: every accepted connection reads its upgrade request and then runs a
/// handler from `factory`. Returns the bound address.
pub fn listen<H, F>(
    reactor: &mut Reactor,
    addr: SocketAddr,
    opts: &ListenOptions,
    config: ServerConfig,
    mut factory: F,
) -> io::Result<SocketAddr>
where
    H: Handler,
    F: FnMut() -> H + 'static,
{
    let config = Rc::new(config);
    reactor.listen_tcp_with(addr, opts, move || {
        WsConn::server(config.clone(), factory())
    })
}

/// Takes over an HTTP request that asks for a WebSocket upgrade: a `101` response whose
/// protocol runs `handler`, or the refusal (400, 403, 426) for a bad handshake.
///
/// ```no_run
/// use netreactor_protocols::http::{Request, Response};
/// use netreactor_protocols::websocket::{self, Echo, ServerConfig};
///
/// fn handle(req: &Request) -> Response {
///     if req.is_upgrade("websocket") {
///         return websocket::upgrade(req, &ServerConfig::default(), Echo);
///     }
///     Response::text(200, "hello")
/// }
/// ```
pub fn upgrade<H: Handler>(req: &Request, config: &ServerConfig, handler: H) -> Response {
    let checked = handshake::check_request(
        req.method().as_bytes(),
        req.raw_target(),
        req.version_minor(),
        req.headers(),
    );
    let hs = match checked {
        Ok(hs) => hs,
        Err(e) => return refusal(&e),
    };
    if let Some(check) = &config.check_origin {
        if !check(&hs) {
            return refusal(&HandshakeError::Origin);
        }
    }
    let protocol = config.select_protocol.as_ref().and_then(|f| f(&hs));
    let accepted = handshake::accept(&hs, protocol, &config.deflate);
    let conn = WsConn::upgraded(config, &accepted, handler);
    let mut resp = Response::upgrade(Box::new(conn));
    for (name, value) in accepted.headers() {
        resp = resp.header(name, value);
    }
    resp
}

fn refusal(e: &HandshakeError) -> Response {
    let mut r = Response::text(e.status(), format!("{}\n", e.reason())).close();
    if e.status() == 426 {
        r = r.header("Sec-WebSocket-Version", "13");
    }
    r
}
