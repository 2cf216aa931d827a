//! A WebSocket chat room: every message a client sends is broadcast to every connected
//! client (the sender included). Each message is encoded once and the same `Bytes` is queued
//! on every connection; a receiver more than 1 MiB behind is skipped rather than buffered.
//!
//! ```text
//! cargo run --example ws_chat -- 127.0.0.1:9002
//! python3 -m websockets ws://127.0.0.1:9002/     # in two terminals
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use netreactor::{ConnId, ListenOptions, Reactor};
use netreactor_protocols::websocket::{self, encode, Handler, Opcode, ServerConfig, Text, Ws};

/// The ids of the open connections.
type Room = Rc<RefCell<Vec<ConnId>>>;

struct Member {
    room: Room,
}

impl Member {
    fn broadcast(&self, ws: &mut Ws<'_, '_>, opcode: Opcode, payload: &[u8]) {
        let frame = encode::frame(opcode, payload);
        let members = self.room.borrow().clone();
        ws.broadcast(members, &frame, 1 << 20);
    }
}

impl Handler for Member {
    fn on_open(&mut self, ws: &mut Ws<'_, '_>) {
        self.room.borrow_mut().push(ws.id());
        let hello = format!("{} joined ({} here)", ws.id(), self.room.borrow().len());
        self.broadcast(ws, Opcode::Text, hello.as_bytes());
    }

    fn on_text(&mut self, ws: &mut Ws<'_, '_>, text: Text) {
        self.broadcast(ws, Opcode::Text, text.as_bytes());
    }

    fn on_binary(&mut self, ws: &mut Ws<'_, '_>, data: Bytes) {
        self.broadcast(ws, Opcode::Binary, &data);
    }

    fn on_close(&mut self, ws: &mut Ws<'_, '_>, _code: u16, _reason: &str) {
        let id = ws.id();
        self.room.borrow_mut().retain(|&m| m != id);
        let bye = format!("{id} left");
        self.broadcast(ws, Opcode::Text, bye.as_bytes());
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".to_string())
        .parse()
        .expect("usage: ws_chat [ADDR]");
    let mut reactor = Reactor::new()?;
    reactor.shutdown_on_signals()?;
    let room: Room = Rc::default();
    let bound = websocket::listen(
        &mut reactor,
        addr,
        &ListenOptions::default(),
        ServerConfig::default(),
        move || Member { room: room.clone() },
    )?;
    eprintln!("ws_chat listening on {bound}");
    reactor.run()
}
