//! The `loadgen` binary over TLS against the `netreactor` binary's HTTPS and WSS servers
//! (the test certificate in tests/data/tls): keep-alive and one request per connection,
//! resumed and full handshakes counted, `--ca` and `--insecure`, an untrusted certificate
//! and a plaintext port counted as TLS errors.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/tls")
        .join(name)
}

fn ca() -> String {
    data("cert.pem").display().to_string()
}

/// The `netreactor` binary serving HTTP, HTTPS (with WebSocket upgrades), plain and TLS
/// WebSocket echo on free ports, a small file at `/hello.txt`; killed when dropped.
struct Netreactor {
    child: Child,
    http: String,
    https: String,
    wss: String,
    root: PathBuf,
}

impl Netreactor {
    fn start() -> Netreactor {
        let root = std::env::temp_dir().join(format!(
            "loadgen-tls-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("hello.txt"), "Hello, World!").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_netreactor"))
            .args(["--http", "127.0.0.1:0", "--https", "127.0.0.1:0"])
            .args(["--ws", "127.0.0.1:0", "--wss", "127.0.0.1:0"])
            .args(["--no-ftp", "--no-telnet", "--no-echo"])
            .arg("--root")
            .arg(&root)
            .arg("--tls-cert")
            .arg(data("cert.pem"))
            .arg("--tls-key")
            .arg(data("key.pem"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("netreactor starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining so the server never blocks.
                    continue;
                }
            }
        });
        let (mut http, mut https, mut wss) = (None, None, None);
        let deadline = Instant::now() + Duration::from_secs(20);
        while (http.is_none() || https.is_none() || wss.is_none()) && Instant::now() < deadline {
            let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            let addr = || {
                let at = line.find("addr=").expect("addr= in the line") + 5;
                line[at..].split_whitespace().next().unwrap().to_string()
            };
            if line.contains("https: serving") {
                https = Some(addr());
            } else if line.contains("http: serving") {
                http = Some(addr());
            } else if line.contains("listening (wss)") {
                wss = Some(addr());
            }
        }
        let (Some(http), Some(https), Some(wss)) = (http, https, wss) else {
            let _ = child.kill();
            panic!("netreactor did not log its addresses");
        };
        Netreactor {
            child,
            http,
            https,
            wss,
            root,
        }
    }
}

impl Drop for Netreactor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .args(["--progress", "0"])
        .output()
        .unwrap()
}

/// Runs loadgen with `--json`; the run must succeed.
fn json(args: &[&str]) -> serde_json::Value {
    let out = run(&[args, &["--json"]].concat());
    assert!(
        out.status.success(),
        "loadgen {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A response count after `-n want` on `conns` connections: the run stops at `want`, and
/// the other connections' requests in flight then may still be answered.
fn assert_count(got: u64, want: u64, conns: u64, what: &str) {
    assert!(
        (want..=want + conns).contains(&got),
        "{what}: {got} responses for -n {want} on {conns} connections"
    );
}

fn n(v: &serde_json::Value, path: &[&str]) -> u64 {
    let mut v = v;
    for p in path {
        v = &v[p];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("{path:?} is not a count in {v}"))
}

#[test]
fn https_keep_alive_counts_every_response_and_one_full_handshake_per_connection() {
    let server = Netreactor::start();
    let url = format!("https://{}/hello.txt", server.https);
    let r = json(&[
        "http",
        &url,
        "-c",
        "8",
        "-n",
        "400",
        "-d",
        "20",
        "--ca",
        &ca(),
    ]);
    assert_count(n(&r, &["responses"]), 400, 8, "keep-alive");
    assert_eq!(n(&r, &["non_2xx"]), 0);
    assert_eq!(n(&r, &["errors", "tls"]), 0);
    assert_eq!(n(&r, &["connected"]), 8);
    // Keep-alive: each connection handshakes once, nothing to resume from yet.
    assert_eq!(n(&r, &["tls", "full"]), 8);
    assert_eq!(n(&r, &["tls", "resumed"]), 0);
    // 400 responses carrying the 13-byte body, decrypted.
    assert!(n(&r, &["bytes_in"]) > 400 * 13);
}

#[test]
fn https_close_resumes_sessions_and_no_resume_forces_full_handshakes() {
    let server = Netreactor::start();
    let url = format!("https://localhost:{}/hello.txt", port(&server.https));
    let base = ["http", &url, "-c", "4", "-n", "200", "-d", "30", "--close"];
    let resumed = json(&[&base[..], &["--insecure"]].concat());
    assert_count(n(&resumed, &["responses"]), 200, 4, "resumed");
    assert_eq!(n(&resumed, &["non_2xx"]), 0);
    let (full, res) = (
        n(&resumed, &["tls", "full"]),
        n(&resumed, &["tls", "resumed"]),
    );
    // One handshake per request (and per connection still open at the end).
    assert!(full + res >= 200, "full {full} resumed {res}");
    assert!(n(&resumed, &["connected"]) >= 200);
    // The first four connections have nothing to resume; every later one takes a ticket
    // (the session store keeps enough for connections that open in the same wake-up).
    assert_eq!(full, 4, "resumed {res}");
    assert!(res >= 196, "only {res} of {} resumed", full + res);
    assert!(resumed["tls"]["per_second"].as_f64().unwrap() > 0.0);

    let forced = json(&[&base[..], &["--insecure", "--no-resume"]].concat());
    assert_count(n(&forced, &["responses"]), 200, 4, "--no-resume");
    assert_eq!(n(&forced, &["tls", "resumed"]), 0);
    assert!(n(&forced, &["tls", "full"]) >= 200);
}

fn port(addr: &str) -> &str {
    addr.rsplit_once(':').unwrap().1
}

#[test]
fn wss_echo_runs_on_the_wss_port_and_through_the_https_upgrade() {
    let server = Netreactor::start();
    for url in [
        format!("wss://{}/", server.wss),
        format!("wss://{}/", server.https),
    ] {
        let r = json(&["ws-echo", &url, "-c", "4", "-n", "300", "--ca", &ca()]);
        assert_count(n(&r, &["responses"]), 300, 4, &url);
        assert_eq!(n(&r, &["errors", "bad_response"]), 0, "{url}");
        assert_eq!(n(&r, &["tls", "full"]), 4, "{url}");
        // 300 echoes of 64 bytes came back through TLS.
        assert!(n(&r, &["bytes_in"]) >= 300 * 64, "{url}");
    }
}

#[test]
fn tls_hold_counts_each_finished_handshake() {
    let server = Netreactor::start();
    let url = format!("tls://{}", server.https);
    // A starved machine (the test at nice 19 beside two fuzzers) finished 34 of 50 debug-build
    // handshakes in a 1.5 s hold; 4 s leaves room for it.
    let r = json(&["hold", &url, "-c", "50", "-d", "4", "--ca", &ca()]);
    assert_eq!(n(&r, &["connected"]), 50);
    assert_eq!(n(&r, &["tls", "full"]) + n(&r, &["tls", "resumed"]), 50);
    assert_eq!(n(&r, &["errors", "tls"]), 0);
}

#[test]
fn an_untrusted_certificate_fails_the_run_with_rustls_reason() {
    let server = Netreactor::start();
    // The system's CA bundle (or none at all) does not hold the self-signed test
    // certificate: every handshake fails, and nothing panics.
    let url = format!("https://{}/hello.txt", server.https);
    let out = run(&["http", &url, "-c", "3", "-d", "1"]);
    assert_eq!(
        out.status.code(),
        Some(if has_system_bundle() { 1 } else { 2 })
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if has_system_bundle() {
        assert!(stdout.contains("errors 3: tls 3"), "{stdout}");
        assert!(stdout.contains("UnknownIssuer"), "{stdout}");
        assert!(stderr.contains("run failed"), "{stderr}");
    } else {
        assert!(stderr.contains("--ca"), "{stderr}");
    }
}

fn has_system_bundle() -> bool {
    Path::new("/etc/ssl/certs/ca-certificates.crt").exists()
}

#[test]
fn tls_to_a_plaintext_port_is_a_tls_error_not_a_hang() {
    let server = Netreactor::start();
    let url = format!("https://{}/hello.txt", server.http);
    let started = Instant::now();
    let out = run(&["http", &url, "-c", "2", "-d", "3", "--insecure", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(n(&r, &["responses"]), 0);
    // The server answers the ClientHello in plaintext (400) and closes: rustls refuses it.
    assert!(n(&r, &["errors", "tls"]) >= 1, "{r}");
    let failed = n(&r, &["errors", "tls"]) + n(&r, &["errors", "reset"]);
    assert_eq!(failed, 2, "{r}");
    assert!(
        r["first_error"].as_str().unwrap().starts_with("tls: "),
        "{r}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
