//! The `netreactor` binary's FTPS: `AUTH TLS` on `--ftp` with the `--tls-cert` certificate,
//! implicit FTPS on `--ftps`, and `--ftp-tls-required`, with curl.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tls_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/tls")
        .join(name)
}

struct Binary {
    child: Child,
    root: PathBuf,
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

/// Starts the binary with FTP (and FTPS on `--ftps`) only; returns it and both addresses.
fn start(name: &str, extra: &[&str]) -> (Binary, SocketAddr, SocketAddr) {
    let root = std::env::temp_dir().join(format!("nr-ftps-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("hello.txt"), "hello over ftps\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_netreactor"))
        .args(["--no-http", "--no-ws", "--no-telnet", "--no-echo"])
        .args(["--ftp", "127.0.0.1:0", "--ftps", "127.0.0.1:0"])
        .args(extra)
        .arg("--root")
        .arg(&root)
        .arg("--tls-cert")
        .arg(tls_data("cert.pem"))
        .arg("--tls-key")
        .arg(tls_data("key.pem"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netreactor starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut explicit, mut implicit) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while (explicit.is_none() || implicit.is_none()) && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if line.contains("AUTH TLS (explicit FTPS) offered") {
            explicit = addr_after(&line, "local=");
        } else if line.contains("ftps (implicit TLS) listening") {
            implicit = addr_after(&line, "local=");
        }
    }
    // Keep reading the log so the binary never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let bin = Binary { child, root };
    (
        bin,
        explicit.expect("explicit FTPS address logged"),
        implicit.expect("implicit FTPS address logged"),
    )
}

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--user", "foo:bar"])
        .arg("--cacert")
        .arg(tls_data("cert.pem"))
        .args(args)
        .output()
        .expect("curl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_binary_serves_explicit_and_implicit_ftps_with_its_certificate() {
    let (_bin, explicit, implicit) = start("both", &[]);
    let (ok, out) = curl(&["--ssl-reqd", &format!("ftp://{explicit}/hello.txt")]);
    assert!(ok && out == "hello over ftps\n", "{out}");
    let (ok, out) = curl(&[&format!("ftps://{implicit}/")]);
    assert!(ok && out.contains(" hello.txt"), "{out}");
    // FTP in plaintext stays available unless TLS is required.
    let (ok, out) = curl(&[&format!("ftp://{explicit}/hello.txt")]);
    assert!(ok && out == "hello over ftps\n", "{out}");
}

#[test]
fn ftp_tls_required_refuses_a_plaintext_login() {
    let (_bin, explicit, _) = start("required", &["--ftp-tls-required"]);
    let (ok, out) = curl(&["-v", &format!("ftp://{explicit}/hello.txt")]);
    assert!(!ok && out.contains("< 530 TLS required"), "{out}");
    let (ok, out) = curl(&["--ssl-reqd", &format!("ftp://{explicit}/hello.txt")]);
    assert!(ok && out == "hello over ftps\n", "{out}");
}
