//! A chat room: every line one client sends goes to every other client.
//! `cargo run --example line_chat [ADDR]` (default 127.0.0.1:7001), then `telnet 127.0.0.1 7001`
//! in two terminals (Debian's `inetutils-telnet`, which `.ci/run` installs; `nc 127.0.0.1
//! 7001` works too, from `netcat-openbsd`).
//!
//! Shows the reactor's broadcast pattern: the room is shared state of one thread
//! (`Rc<RefCell<..>>`, no locks), each line is encoded once and the same `Bytes` is cloned
//! (a reference count, not a copy) into every receiver's write queue.

use std::cell::RefCell;
use std::rc::Rc;

use netreactor::bytes::{Bytes, BytesMut};
use netreactor::{CloseReason, ConnId, Context, Protocol, Reactor, SlowConsumer};

/// Longest line accepted; a longer one closes the connection (no unbounded buffering).
const MAX_LINE: usize = 4096;

#[derive(Default)]
struct Room {
    members: Vec<ConnId>,
}

impl Room {
    /// Sends `msg` to everyone but `from`. A member that stopped reading (its queue above the
    /// high watermark) misses lines: a slow consumer must not make the server hold unbounded
    /// output for it.
    fn broadcast(&self, cx: &mut Context<'_>, from: ConnId, msg: Bytes) {
        let others = self.members.iter().copied().filter(|&m| m != from);
        cx.broadcast(others, msg, SlowConsumer::Skip);
    }
}

struct Chatter {
    room: Rc<RefCell<Room>>,
}

impl Protocol for Chatter {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        let me = cx.id();
        self.room.borrow_mut().members.push(me);
        let hello = Bytes::from(format!("* {me} joined\n"));
        self.room.borrow().broadcast(cx, me, hello);
    }

    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        let me = cx.id();
        while let Some(end) = memchr(b'\n', input) {
            let line = input.split_to(end + 1);
            let mut msg = BytesMut::with_capacity(line.len() + 8);
            msg.extend_from_slice(format!("{me}: ").as_bytes());
            msg.extend_from_slice(&line);
            self.room.borrow().broadcast(cx, me, msg.freeze());
        }
        if input.len() > MAX_LINE {
            cx.write(Bytes::from_static(b"* line too long\n"));
            cx.close();
        }
    }

    fn on_close(&mut self, cx: &mut Context<'_>, _reason: &CloseReason) {
        let me = cx.id();
        self.room.borrow_mut().members.retain(|&m| m != me);
        let bye = Bytes::from(format!("* {me} left\n"));
        self.room.borrow().broadcast(cx, me, bye);
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".into());
    let room = Rc::new(RefCell::new(Room::default()));
    let mut reactor = Reactor::new()?;
    reactor.shutdown_on_signals()?;
    let local = reactor.listen_tcp(addr.parse().expect("ADDR"), move || Chatter {
        room: room.clone(),
    })?;
    eprintln!("line chat on {local}");
    reactor.run()
}
