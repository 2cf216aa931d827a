//! Server wiring: the standalone listener, the echo handler, and the function the HTTP
//! server's handlers call to take an upgrade request over (the configuration is in
//! [`config`](super::config), re-exported here).

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use netreactor::{BoxedProtocol, ListenOptions, Reactor};

pub use super::config::{OriginCheck, ProtocolSelector, ServerConfig, DEFAULT_INFLATE_SLICE};
use super::conn::{Handler, Text, Ws, WsConn};
use super::handshake::{self, HandshakeError};
use crate::http::{Request, Response};

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

/// [`Echo`] that counts the messages it receives and sends (for the metrics endpoint), by
/// transport.
#[derive(Clone, Debug, Default)]
pub struct CountedEcho(pub std::sync::Arc<crate::ops::WsCounters>);

impl Handler for CountedEcho {
    fn on_text(&mut self, ws: &mut Ws<'_, '_>, text: Text) {
        let tls = ws.context().is_tls() as usize;
        self.0.messages_in[tls].add(1);
        if ws.send_text(text) {
            self.0.messages_out[tls].add(1);
        }
    }
    fn on_binary(&mut self, ws: &mut Ws<'_, '_>, data: Bytes) {
        let tls = ws.context().is_tls() as usize;
        self.0.messages_in[tls].add(1);
        if ws.send_binary(data) {
            self.0.messages_out[tls].add(1);
        }
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

/// [`listen`] over TLS (`wss://`): the handshake, then the WebSocket upgrade, on every
/// connection `tls` accepts.
#[cfg(feature = "tls")]
pub fn listen_tls<H, F>(
    reactor: &mut Reactor,
    addr: SocketAddr,
    opts: &ListenOptions,
    tls: netreactor::tls::TlsAcceptor,
    config: ServerConfig,
    mut factory: F,
) -> io::Result<SocketAddr>
where
    H: Handler,
    F: FnMut() -> H + 'static,
{
    let config = Rc::new(config);
    reactor.listen_tls_with(addr, opts, tls, move || {
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
    let mut resp = Response::upgrade(BoxedProtocol::new(conn));
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
