//! The client side of the opening handshake: checking the server's answer, and failing the
//! connection when it is not one.

use bytes::BytesMut;
use netreactor::Context;

use super::{flag, Handler, Handshake, State, WsConn, WsTimer, ABNORMAL, DEFAULT_INFLATE_SLICE};
use crate::websocket::deflate::DeflateConfig;
use crate::websocket::handshake::{self, ClientHandshakeError};

impl<H: Handler> WsConn<H> {
    pub(super) fn client_handshake(&mut self, cx: &mut Context<'_, WsTimer>, input: &mut BytesMut) {
        let Some(Handshake::Client(req)) = self.link.handshake() else {
            return;
        };
        let Some(end) = memchr::memmem::find(input, b"\r\n\r\n") else {
            if input.len() > 16 * 1024 {
                self.client_failed(cx, input, ClientHandshakeError::Malformed);
            }
            return;
        };
        let protocols: Vec<&str> = req.config.protocols.iter().map(|s| s.as_str()).collect();
        let result =
            handshake::check_response(&input[..end + 4], &req.key, &protocols, req.config.compress);
        let _ = input.split_to(end + 4);
        match result {
            Ok(acc) => {
                let config = DeflateConfig {
                    level: 6,
                    ..DeflateConfig::default()
                };
                self.enable_deflate(acc.deflate, &config, DEFAULT_INFLATE_SLICE);
                self.open(cx);
                self.read_frames(cx, input);
            }
            Err(e) => self.client_failed(cx, input, e),
        }
    }

    fn client_failed(
        &mut self,
        cx: &mut Context<'_, WsTimer>,
        input: &mut BytesMut,
        e: ClientHandshakeError,
    ) {
        input.clear();
        self.link.end_handshake();
        self.link.flags |= flag::REJECTED;
        self.link.state = State::Closed;
        cx.abort();
        self.tell_close(cx, ABNORMAL, &format!("handshake failed: {e:?}"));
    }
}
