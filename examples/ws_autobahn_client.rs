//! Runs the Autobahn fuzzingserver cases against our WebSocket *client*: for each case it
//! connects to `/runCase?case=N&agent=netreactor`, echoes every message back (the `Echo`
//! handler over a client-role `WsConn`), then asks the server to write its reports.
//!
//! ```text
//! kosoku -m fuzzingserver -o /tmp/ab-client 127.0.0.1:9002 &
//! cargo run --release --example ws_autobahn_client -- 127.0.0.1:9002
//! ```

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::BytesMut;
use netreactor::{CloseReason, Context, Protocol, Reactor};
use netreactor_protocols::websocket::{ClientConfig, Echo, Handler, Text, Ws, WsConn};

/// Runs one connection on a fresh reactor until its TCP connection closes.
fn run_one<H: Handler>(addr: SocketAddr, target: String, handler: H) -> std::io::Result<()> {
    /// Stops the reactor when the wrapped connection is closed.
    struct StopOnClose<P>(P);
    impl<T: Copy + 'static, P: Protocol<T>> Protocol<T> for StopOnClose<P> {
        fn on_open(&mut self, cx: &mut Context<'_, T>) {
            self.0.on_open(cx)
        }
        fn on_data(&mut self, cx: &mut Context<'_, T>, input: &mut BytesMut) {
            self.0.on_data(cx, input)
        }
        fn on_eof(&mut self, cx: &mut Context<'_, T>) {
            self.0.on_eof(cx)
        }
        fn on_timer(&mut self, cx: &mut Context<'_, T>, tag: T) {
            self.0.on_timer(cx, tag)
        }
        fn on_backpressure(&mut self, cx: &mut Context<'_, T>, paused: bool) {
            self.0.on_backpressure(cx, paused)
        }
        fn on_close(&mut self, cx: &mut Context<'_, T>, reason: &CloseReason) {
            self.0.on_close(cx, reason);
            cx.shutdown_reactor();
        }
    }
    let mut r = Reactor::new()?;
    let config = ClientConfig {
        host: addr.to_string(),
        target,
        compress: true,
        ..ClientConfig::default()
    };
    r.connect_tcp(addr, StopOnClose(WsConn::client(config, handler)))?;
    r.run()
}

/// Remembers the first text message (the case count).
struct First(Rc<RefCell<Option<String>>>);

impl Handler for First {
    fn on_text(&mut self, ws: &mut Ws<'_, '_>, text: Text) {
        *self.0.borrow_mut() = Some(text.to_string());
        ws.close(1000, "");
    }
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".to_string())
        .parse()
        .expect("usage: ws_autobahn_client [ADDR]");
    let count = Rc::new(RefCell::new(None));
    run_one(addr, "/getCaseCount".into(), First(count.clone()))?;
    let count: usize = count
        .borrow()
        .as_deref()
        .and_then(|c| c.trim().parse().ok())
        .expect("the server sends the case count");
    for case in 1..=count {
        run_one(addr, format!("/runCase?case={case}&agent=netreactor"), Echo)?;
    }
    run_one(addr, "/updateReports?agent=netreactor".into(), Echo)?;
    eprintln!("ran {count} cases");
    Ok(())
}
