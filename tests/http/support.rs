//! Shared fixtures of the http end-to-end tests: a document root with files, CGI scripts
//! and traps (a secret outside the root, symlinks pointing out), a server on it, and
//! clients (curl, raw sockets).
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use netreactor_protocols::http::{Server, ServerConfig};

use crate::common;

/// A temporary tree: `outside/secret.txt` and `root/` (the document root).
pub struct Fixture {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub server: common::Server,
}

impl Fixture {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr(), path)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub const SECRET: &str = "TOP-SECRET-OUTSIDE-ROOT";

/// Builds the tree and starts a file server on it; `tweak` adjusts the config.
pub fn start(tweak: impl FnOnce(&mut ServerConfig)) -> Fixture {
    let dir = std::env::temp_dir().join(format!(
        "nr-http-e2e-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    let root = dir.join("root");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(root.join("cgi-bin")).unwrap();
    fs::create_dir_all(dir.join("outside")).unwrap();
    fs::write(dir.join("outside/secret.txt"), SECRET).unwrap();
    fs::write(root.join("hello.txt"), "hello from the root\n").unwrap();
    fs::write(root.join("index.html"), "<h1>home</h1>\n").unwrap();
    fs::write(root.join("style.css"), "body { color: red }\n").unwrap();
    fs::write(root.join("app.js"), "console.log('hi');\n").unwrap();
    fs::write(root.join("sub/a b.txt"), "spaced\n").unwrap();
    fs::write(root.join("sub/<script>.txt"), "tricky\n").unwrap();
    let digits: String = (0..10_000)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    fs::write(root.join("digits.txt"), digits).unwrap();
    symlink(dir.join("outside/secret.txt"), root.join("leak.txt")).unwrap();
    symlink(dir.join("outside"), root.join("leakdir")).unwrap();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http/cgi");
    for entry in fs::read_dir(&scripts).unwrap() {
        let p = entry.unwrap().path();
        let to = root.join("cgi-bin").join(p.file_name().unwrap());
        fs::copy(&p, &to).unwrap();
        fs::set_permissions(&to, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut config = ServerConfig {
        root: root.clone(),
        cgi_dir: Some("cgi-bin".into()),
        ..ServerConfig::default()
    };
    tweak(&mut config);
    let server = common::spawn(move |r| {
        let server = Server::static_files(config)?;
        Ok(vec![r.listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            server.factory(),
        )?])
    });
    Fixture { dir, root, server }
}

/// Runs curl with `args` (plus `-s`); returns (stdout, exit status code).
pub fn curl(args: &[&str]) -> (Vec<u8>, i32) {
    common::require_tool("curl");
    let out = Command::new("curl")
        .arg("-s")
        .arg("--max-time")
        .arg("20")
        .args(args)
        .output()
        .expect("run curl");
    (out.stdout, out.status.code().unwrap_or(-1))
}

/// curl that prints the status code only (`-o /dev/null -w %{http_code}`).
pub fn curl_status(args: &[&str]) -> u16 {
    let mut all = vec!["-o", "/dev/null", "-w", "%{http_code}"];
    all.extend_from_slice(args);
    let (out, _) = curl(&all);
    String::from_utf8_lossy(&out).trim().parse().unwrap_or(0)
}

/// Sends `bytes` on a fresh connection and reads until the server closes (or 10 s pass).
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// The status code of the first response in `out`.
pub fn status_of(out: &[u8]) -> u16 {
    let s = String::from_utf8_lossy(out);
    s.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Runs a Python client script from `tests/http/` with `args`; returns its stdout.
pub fn python(script: &str, args: &[&str]) -> String {
    common::require_tool(&common::python());
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/http")
        .join(script);
    let out = Command::new(common::python())
        .arg(path)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
