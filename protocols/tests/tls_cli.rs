//! The `netreactor` binary's TLS servers with real clients: curl and Python (`http.client`,
//! `websockets`) over HTTPS and WSS, CGI's `HTTPS=on`, plain HTTP to the HTTPS port, the
//! Telnet chat over TLS with `openssl s_client`, and certificates replaced on SIGHUP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn tls_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/tls")
        .join(name)
}

/// The binary running with the test certificate; its addresses read from its log.
struct Binary {
    child: Child,
    https: SocketAddr,
    wss: SocketAddr,
    telnets: SocketAddr,
    root: PathBuf,
    lines: mpsc::Receiver<String>,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn addr_after(line: &str, key: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

fn start(cert: &Path, key: &Path) -> Binary {
    start_with(cert, key, &[])
}

fn start_with(cert: &Path, key: &Path, extra: &[&str]) -> Binary {
    let root = std::env::temp_dir().join(format!(
        "nr-tls-cli-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(root.join("cgi-bin")).unwrap();
    std::fs::write(root.join("hello.txt"), "hello over https\n").unwrap();
    let env_sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/http/cgi/env.sh");
    std::fs::copy(env_sh, root.join("cgi-bin/env.sh")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_netreactor"))
        .args([
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
            "--wss",
            "127.0.0.1:0",
        ])
        .args([
            "--ws",
            "127.0.0.1:0",
            "--telnet",
            "127.0.0.1:0",
            "--telnets",
            "127.0.0.1:0",
        ])
        .args([
            "--no-ftp",
            "--no-echo",
            "--writable",
            "--cgi-dir",
            "cgi-bin",
        ])
        .arg("--root")
        .arg(&root)
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netreactor starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let (mut https, mut wss, mut telnets) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while (https.is_none() || wss.is_none() || telnets.is_none()) && Instant::now() < deadline {
        let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if line.contains("https: serving") {
            https = addr_after(&line, "addr=");
        } else if line.contains("(wss)") {
            wss = addr_after(&line, "addr=");
        } else if line.contains("telnet chat listening") {
            telnets = addr_after(&line, "tls=");
        }
    }
    Binary {
        child,
        https: https.expect("https address logged"),
        wss: wss.expect("wss address logged"),
        telnets: telnets.expect("telnets address logged"),
        root,
        lines,
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn curl(args: &[&str]) -> (String, bool) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.success(),
    )
}

fn python() -> String {
    std::env::var("NETREACTOR_PYTHON").unwrap_or_else(|_| {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ci-venv/bin/python");
        if venv.exists() {
            venv.display().to_string()
        } else {
            "python3".into()
        }
    })
}

#[test]
fn curl_gets_files_and_cgi_over_https() {
    let b = start(&tls_data("cert.pem"), &tls_data("key.pem"));
    let ca = tls_data("cert.pem");
    let ca = ca.to_str().unwrap();
    let port = b.https.port();
    let url = |p: &str| format!("https://localhost:{port}{p}");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let (body, ok) = curl(&[
        "--http1.1",
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &url("/hello.txt"),
    ]);
    assert!(ok, "curl https failed");
    assert_eq!(body, "hello over https\n");
    let (body, ok) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &url("/cgi-bin/env.sh"),
    ]);
    assert!(ok);
    assert!(body.lines().any(|l| l == "HTTPS=on"), "{body}");
    // `-k` against the same server, and the version and ALPN curl saw.
    let (out, ok) = curl(&[
        "-k",
        "-o",
        "/dev/null",
        "-w",
        "%{http_version}",
        &url("/hello.txt"),
    ]);
    assert!(ok);
    assert_eq!(out, "1.1");
    // Plain HTTP to the HTTPS port: nginx's 400 page, in plaintext.
    let (body, _) = curl(&[&format!("http://127.0.0.1:{port}/hello.txt")]);
    assert!(
        body.contains("The plain HTTP request was sent to the HTTPS port"),
        "{body}"
    );
}

#[test]
fn python_http_client_and_websockets_over_tls() {
    let b = start(&tls_data("cert.pem"), &tls_data("key.pem"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/clients.py");
    let out = Command::new(python())
        .arg(script)
        .arg(tls_data("cert.pem"))
        .arg(b.https.port().to_string())
        .arg(b.wss.port().to_string())
        .output()
        .expect("python runs (install it with .ci/run)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("PASS"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn openssl_s_client_chats_over_telnets() {
    let b = start(&tls_data("cert.pem"), &tls_data("key.pem"));
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-servername",
            "localhost",
            "-verify_return_error",
        ])
        .arg("-CAfile")
        .arg(tls_data("cert.pem"))
        .arg("-connect")
        .arg(b.telnets.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let wait_for = |what: &str, seen: &mut Vec<u8>| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !String::from_utf8_lossy(seen).contains(what) && Instant::now() < deadline {
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                seen.extend(chunk);
            }
        }
        String::from_utf8_lossy(seen).contains(what)
    };
    assert!(
        wait_for("Welcome", &mut seen),
        "no greeting: {:?}",
        String::from_utf8_lossy(&seen)
    );
    stdin.write_all(b"/nick alice\r\n/who\r\n").unwrap();
    // `/who` lists the member under the new name: the chat works over TLS.
    assert!(
        wait_for("\r\n  alice", &mut seen),
        "{:?}",
        String::from_utf8_lossy(&seen)
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sighup_replaces_the_certificate_for_new_connections() {
    // Two copies of the key pair: the binary reads these paths again on SIGHUP.
    let dir = std::env::temp_dir().join(format!("nr-tls-reload-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::copy(tls_data("cert.pem"), &cert).unwrap();
    std::fs::copy(tls_data("key.pem"), &key).unwrap();
    let b = start(&cert, &key);
    let fingerprint = |addr: SocketAddr| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl s_client -connect {addr} -servername localhost </dev/null 2>/dev/null \
                 | openssl x509 -noout -fingerprint -sha256"
            ))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let before = fingerprint(b.https);
    assert!(before.contains("Fingerprint"), "{before}");
    // A new certificate with a new key, then SIGHUP.
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let pid = b.child.id() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut reloaded = false;
    while !reloaded && Instant::now() < deadline {
        if let Ok(line) = b.lines.recv_timeout(Duration::from_millis(200)) {
            reloaded = line.contains("certificates reloaded");
        }
    }
    assert!(reloaded, "no reload logged");
    let after = fingerprint(b.https);
    assert!(after.contains("Fingerprint"), "{after}");
    assert_ne!(before, after, "new connections get the new certificate");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_https_port_reads_a_proxy_protocol_header_before_the_handshake() {
    // `--http-proxy-protocol` applies to HTTPS too: a balancer's v1 header, then TLS; CGI sees
    // the client's address from the header, and a connection without a header is refused.
    let b = start_with(
        &tls_data("cert.pem"),
        &tls_data("key.pem"),
        &["--http-proxy-protocol"],
    );
    let script = r#"
import socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
raw.sendall(b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n")
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET /cgi-bin/env.sh HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
body = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    body += d
print(body.decode(errors="replace"))
raw2 = socket.create_connection(("127.0.0.1", port), timeout=10)
try:
    ctx.wrap_socket(raw2, server_hostname="localhost")
    print("NO-HEADER-HANDSHAKE-OK")
except (ssl.SSLError, OSError) as e:
    print("NO-HEADER-REFUSED", type(e).__name__)
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(b.https.port().to_string())
        .output()
        .expect("python runs (install it with .ci/run)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().any(|l| l == "REMOTE_ADDR=203.0.113.7"),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "HTTPS=on"), "{text}");
    assert!(text.contains("NO-HEADER-REFUSED"), "{text}");
}
