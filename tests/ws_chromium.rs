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
    common::require_tool("chromium");
    let (tx, rx) = mpsc::channel::<String>();
    let server = common::spawn(move |r| {
        let ws_addr = websocket::listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            ServerConfig::default(),
            || Echo,
        )?;
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
        let http_addr = r.listen_tcp(("127.0.0.1:0").parse().unwrap(), http.factory())?;
        Ok(vec![http_addr, ws_addr])
    });
    let (http, ws) = (server.addrs[0], server.addrs[1]);
    let url = format!("http://{http}/?a=ws://{ws}/echo&b=ws://{http}/ws");
    let profile = std::env::temp_dir().join(format!("ws-chromium-{}", std::process::id()));
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
