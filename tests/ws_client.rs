//! Our WebSocket client (`WsConn::client`) against Python's `websockets` echo server over
//! loopback: text, binary, a large message and the close handshake, with and without
//! permessage-deflate.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use netreactor_protocols::websocket::{ClientConfig, Handler, Text, Ws, WsConn};

struct PythonServer(Child);

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_echo_server(mode: &str) -> (PythonServer, u16) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ws/echo_server.py");
    let mut child = Command::new(common::python())
        .arg(script)
        .arg(mode)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the Python interpreter runs (install it with .ci/run)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    (PythonServer(child), port)
}

/// Sends three messages on open, records the echoes, closes after the third.
struct Script {
    big: Bytes,
    log: mpsc::Sender<String>,
}

impl Handler for Script {
    fn on_open(&mut self, ws: &mut Ws<'_, '_>) {
        let _ = self
            .log
            .send(format!("open compressed={}", ws.is_compressed()));
        ws.send_text("hello κόσμε");
        ws.send_binary(Bytes::from_static(&[0, 1, 2, 255]));
        ws.send_binary(self.big.clone());
    }
    fn on_text(&mut self, _ws: &mut Ws<'_, '_>, text: Text) {
        let _ = self.log.send(format!("text {}", text.as_str()));
    }
    fn on_binary(&mut self, ws: &mut Ws<'_, '_>, data: Bytes) {
        if data.len() > 4 {
            let _ = self.log.send(format!("big {}", data == self.big));
            ws.close(1000, "done");
        } else {
            let _ = self.log.send(format!("binary {:?}", &data[..]));
        }
    }
    fn on_close(&mut self, _ws: &mut Ws<'_, '_>, code: u16, _reason: &str) {
        let _ = self.log.send(format!("close {code}"));
    }
}

fn run(compress: bool) {
    let (_server, port) = python_echo_server(if compress { "deflate" } else { "plain" });
    let (tx, rx) = mpsc::channel();
    let big: Bytes = (0..3_000_000u32)
        .map(|i| (i % 7) as u8)
        .collect::<Vec<u8>>()
        .into();
    let _client = common::spawn(move |r| {
        let config = ClientConfig {
            host: format!("127.0.0.1:{port}"),
            target: "/".into(),
            compress,
            ..ClientConfig::default()
        };
        r.connect_tcp(
            format!("127.0.0.1:{port}").parse().unwrap(),
            WsConn::client(config, Script { big, log: tx }),
        )?;
        Ok(vec![])
    });
    let got: Vec<String> = (0..5)
        .map(|_| rx.recv_timeout(Duration::from_secs(20)).expect("an event"))
        .collect();
    assert_eq!(
        got,
        [
            format!("open compressed={compress}").as_str(),
            "text hello κόσμε",
            "binary [0, 1, 2, 255]",
            "big true",
            "close 1000"
        ],
        "compress {compress}"
    );
}

#[test]
fn client_talks_to_python_websockets_without_compression() {
    run(false);
}

#[test]
fn client_talks_to_python_websockets_with_compression() {
    run(true);
}
