//! Headless Chromium opens a page served by the project's HTTP server; the page's WebSocket
//! round-trips text and binary with the standalone echo server and with the HTTP server's
//! upgrade route, then reports what it received back over HTTP.

mod common;

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use netreactor::ListenOptions;
use netreactor_protocols::http::{Request, Response, Router, Server, ServerConfig as HttpConfig};
use netreactor_protocols::websocket::{self, Echo, ServerConfig};

const PAGE: &str = include_str!("ws/page.html");

#[test]
fn chromium_round_trips_text_and_binary() {
    run(false);
}

/// The same page over HTTPS, its sockets over `wss://` (the test certificate; Chromium told
/// to ignore that it is self-signed).
#[test]
fn chromium_round_trips_over_https_and_wss() {
    run(true);
}

fn run(tls: bool) {
    common::require_tool("chromium");
    let (tx, rx) = mpsc::channel::<String>();
    let server = common::spawn(move |r| {
        let any = "127.0.0.1:0".parse().unwrap();
        let opts = ListenOptions::default();
        let tls_config = || {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/");
            netreactor::tls::server_config_from_pem(
                format!("{dir}cert.pem").as_ref(),
                format!("{dir}key.pem").as_ref(),
                &[b"http/1.1"],
            )
        };
        let ws_addr = if tls {
            websocket::server::listen_tls(
                r,
                any,
                &opts,
                tls_config()?.into(),
                ServerConfig::default(),
                || Echo,
            )?
        } else {
            websocket::listen(r, any, &opts, ServerConfig::default(), || Echo)?
        };
        let ws_config = ServerConfig::default();
        let router = Router::new()
            .get("/ws", move |req: &Request| {
                websocket::upgrade(req, &ws_config, Echo)
            })
            .get("/result", move |req: &Request| {
                let q = req.query().unwrap_or("").to_string();
                let _ = tx.send(q);
                Response::text(200, "thanks")
            })
            .get("/", |_req: &Request| Response::html(200, PAGE));
        let http = Server::new(HttpConfig::default(), router);
        let http_addr = if tls {
            r.listen_tls(any, tls_config()?, http.factory())?
        } else {
            r.listen_tcp(any, http.factory())?
        };
        Ok(vec![http_addr, ws_addr])
    });
    let (http, ws) = (server.addrs[0].port(), server.addrs[1].port());
    let (h, w) = if tls {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let url =
        format!("{h}://localhost:{http}/?a={w}://localhost:{ws}/echo&b={w}://localhost:{http}/ws");
    // One profile per test: two Chromiums on one profile hand over to each other.
    let profile = std::env::temp_dir().join(format!("ws-chromium-{}-{h}", std::process::id()));
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-port=0",
            "--ignore-certificate-errors",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let result = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&profile);
    let query = result.expect("the page reported its result within 60 s");
    let decoded = percent_decode(query.strip_prefix("r=").unwrap_or(&query));
    let expected = "text:hello κόσμε|binary:0,1,2,255|close:1000";
    assert_eq!(decoded, format!("a={expected};b={expected}"));
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
