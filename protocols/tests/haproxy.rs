//! The deployment of `deploy/haproxy/run.sh`: Debian's haproxy on 127.0.0.1 in front of two
//! `netreactor` processes (127.0.0.2, 127.0.0.3) with `--proxy-protocol`, HAProxy sending
//! PROXY v2 from a source address of its own (127.0.0.4). Real clients over loopback: HTTP
//! (CGI `REMOTE_ADDR`/`REMOTE_PORT`), a WebSocket echo, Telnet `/who`, FTP with curl (LIST,
//! RETR, EPSV and PASV through HAProxy's passive-port frontends), and a backend SIGKILLed
//! under loadgen. HAProxy is required (`.ci/run` installs it): without it the tests fail.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FRONT: [u8; 4] = [127, 0, 0, 1];

/// The running deployment; stopped (run.sh and everything it started) when dropped.
struct Deployment {
    run: Child,
    dir: PathBuf,
    base: u16,
}

fn require_haproxy() {
    let found = Command::new("sh")
        .args(["-c", "command -v haproxy"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "haproxy is required by this test: apt-get install haproxy (.ci/run installs it)"
    );
}

impl Deployment {
    fn start(base: u16) -> Deployment {
        require_haproxy();
        let dir = std::env::temp_dir().join(format!("nr-haproxy-{}-{base}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy/run.sh");
        let mut run = Command::new("bash")
            .arg(script)
            .arg(&dir)
            .env("NETREACTOR", env!("CARGO_BIN_EXE_netreactor"))
            .env("BASE", base.to_string())
            .env_remove("ROOT")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("bash runs deploy/haproxy/run.sh");
        let out = run.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deployment = Deployment { run, dir, base };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == "ready" => break,
                Ok(_) => {}
                Err(_) => panic!(
                    "the deployment did not get ready; logs in {}",
                    deployment.dir.display()
                ),
            }
        }
        deployment
    }

    fn front(&self, offset: u16) -> SocketAddr {
        SocketAddr::from((FRONT, self.base + offset))
    }

    fn pid(&self, name: &str) -> i32 {
        let text = std::fs::read_to_string(self.dir.join(format!("{name}.pid"))).unwrap();
        text.trim().parse().unwrap()
    }

    /// HAProxy's view of `backend`/`server`: its status (`UP`, `DOWN`, ...) and sessions so
    /// far (health checks not included).
    fn server(&self, backend: &str, server: &str) -> (String, u64) {
        let (_, body) = http_get(self.front(9), "/stats;csv", None);
        for line in body.lines() {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() > 17 && f[0] == backend && f[1] == server {
                return (f[17].to_string(), f[7].parse().unwrap_or(0));
            }
        }
        panic!("no {backend}/{server} in HAProxy's stats:\n{body}");
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // run.sh stops what it started on SIGTERM.
        unsafe { libc::kill(self.run.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.run.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.run.kill();
    }
}

/// A client connection to `to`, from `from` when given (else the kernel's choice).
fn connect(to: SocketAddr, from: Option<IpAddr>) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if let Some(ip) = from {
        sock.bind(&SocketAddr::new(ip, 0).into()).unwrap();
    }
    sock.connect_timeout(&to.into(), Duration::from_secs(5))
        .unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// An HTTP/1.0 GET: the client's own address and the response (head and body).
fn http_get(to: SocketAddr, path: &str, from: Option<IpAddr>) -> (SocketAddr, String) {
    let mut s = connect(to, from);
    let me = s.local_addr().unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    (me, out)
}

fn cgi_var<'a>(response: &'a str, name: &str) -> &'a str {
    response
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {response}"))
}

fn ws_echo(to: SocketAddr, message: &[u8]) -> Vec<u8> {
    let mut s = connect(to, None);
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "closed during the handshake");
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    assert!(message.len() < 126);
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | message.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(message.iter().enumerate().map(|(i, c)| c ^ mask[i % 4]));
    s.write_all(&frame).unwrap();
    let mut hdr = [0u8; 2];
    s.read_exact(&mut hdr).unwrap();
    assert_eq!(hdr[0], 0x81, "not a final text frame");
    let mut payload = vec![0; usize::from(hdr[1] & 0x7f)];
    s.read_exact(&mut payload).unwrap();
    payload
}

/// Joins the chat from `from` and returns what `/who` answered.
fn telnet_who(to: SocketAddr, from: IpAddr) -> String {
    let mut s = connect(to, Some(from));
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut asked = false;
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {
                // Quiet: the greeting is done (or the answer to /who is).
                let text = String::from_utf8_lossy(&seen).into_owned();
                if asked && text.contains(" here:") {
                    return text;
                }
                if !asked {
                    s.write_all(b"/who\r\n").unwrap();
                    asked = true;
                }
            }
        }
    }
    panic!("no /who answer: {:?}", String::from_utf8_lossy(&seen));
}

fn curl_ftp(url: &str, extra: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-u", "foo:bar"])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {extra:?} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn clients_reach_both_processes_through_haproxy_with_their_own_addresses() {
    let d = Deployment::start(23000);
    // HTTP: the CGI sees the client's address and port, not HAProxy's 127.0.0.4.
    for _ in 0..10 {
        let (me, response) = http_get(d.front(0), "/cgi/env.sh", None);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert_eq!(cgi_var(&response, "REMOTE_ADDR"), "127.0.0.1");
        assert_eq!(cgi_var(&response, "REMOTE_PORT"), me.port().to_string());
    }
    let other: IpAddr = "127.0.0.5".parse().unwrap();
    let (_, response) = http_get(d.front(0), "/cgi/env.sh", Some(other));
    assert_eq!(cgi_var(&response, "REMOTE_ADDR"), "127.0.0.5");
    let (a, b) = (d.server("http", "a").1, d.server("http", "b").1);
    assert!(a > 0 && b > 0, "HTTP reached one process only: {a} / {b}");

    // WebSocket: an echo round trip, on both processes.
    for i in 0..4 {
        let msg = format!("through haproxy {i}");
        assert_eq!(ws_echo(d.front(1), msg.as_bytes()), msg.as_bytes());
    }
    let (a, b) = (d.server("ws", "a").1, d.server("ws", "b").1);
    assert!(
        a > 0 && b > 0,
        "WebSocket reached one process only: {a} / {b}"
    );

    // Telnet: /who shows where each user really is.
    for from in ["127.0.0.5", "127.0.0.6"] {
        let who = telnet_who(d.front(2), from.parse().unwrap());
        assert!(who.contains(&format!(" from {from}")), "{who}");
        assert!(!who.contains("127.0.0.4"), "HAProxy's address shown: {who}");
    }
    let (a, b) = (d.server("telnet", "a").1, d.server("telnet", "b").1);
    assert!(a > 0 && b > 0, "Telnet reached one process only: {a} / {b}");

    // FTP: control and data through HAProxy, EPSV (curl's default) and PASV.
    let url = format!("ftp://127.0.0.1:{}/", d.base + 3);
    for extra in [&[][..], &["--disable-epsv"], &[], &["--disable-epsv"]] {
        let list = curl_ftp(&url, extra);
        assert!(list.contains("hello.txt"), "LIST {extra:?}: {list}");
        let file = curl_ftp(&format!("{url}hello.txt"), extra);
        assert_eq!(file, "hello through haproxy\n", "RETR {extra:?}");
    }
    let (a, b) = (d.server("ftp", "a").1, d.server("ftp", "b").1);
    assert!(a > 0 && b > 0, "FTP reached one process only: {a} / {b}");
    let (a, b) = (d.server("ftp_data_a", "a").1, d.server("ftp_data_b", "b").1);
    assert!(
        a > 0 && b > 0,
        "passive data through one range only: {a} / {b}"
    );
}

/// `  12.3s  open  19000  responses  123456 (  9876/s)  errors  3` -> (12.3, 3).
fn progress(line: &str) -> Option<(f64, u64)> {
    let t = line
        .split_whitespace()
        .next()?
        .strip_suffix('s')?
        .parse()
        .ok()?;
    let errors = line.split("errors").nth(1)?.trim().parse().ok()?;
    Some((t, errors))
}

#[test]
fn a_backend_killed_under_load_costs_only_its_requests_in_flight() {
    const CONNS: u64 = 32;
    let d = Deployment::start(23200);
    let started = Instant::now();
    let mut loadgen = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["http", &format!("http://127.0.0.1:{}/", d.base)])
        .args(["-c", &CONNS.to_string(), "-d", "8", "--close"])
        .args(["--progress", "0.5", "--timeout", "3", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen starts");
    let stderr = loadgen.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    std::thread::sleep(Duration::from_millis(2500));
    let killed_at = started.elapsed();
    unsafe { libc::kill(d.pid("a"), libc::SIGKILL) };
    // HAProxy's health checks (every 200 ms, down after 2 failures) take it out.
    let down_at = loop {
        if d.server("http", "a").0.starts_with("DOWN") {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < killed_at + Duration::from_secs(5),
            "HAProxy still sends to the killed process"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = loadgen.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("loadgen --json");
    let responses = report["responses"].as_u64().unwrap();
    let errors: u64 = report["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let non_2xx = report["non_2xx"].as_u64().unwrap_or(0);
    let seen: Vec<(f64, u64)> = lines
        .join()
        .unwrap()
        .iter()
        .filter_map(|l| progress(l))
        .collect();
    // After the health check took the process out (and a second for the last of its
    // connections to fail), no request fails.
    let settled = down_at.as_secs_f64() + 1.0;
    let at_settled = seen
        .iter()
        .find(|(t, _)| *t >= settled)
        .map(|&(_, e)| e)
        .expect("a progress line after the process was taken out");
    println!(
        "haproxy failover: {responses} responses in 8 s ({:.0}/s), {errors} errors {}, \
         {non_2xx} non-2xx; killed at {:.2} s, marked down {} ms later; errors at {settled:.1} s: \
         {at_settled}",
        report["throughput"].as_f64().unwrap_or(0.0),
        report["errors"],
        killed_at.as_secs_f64(),
        (down_at - killed_at).as_millis(),
    );
    assert_eq!(non_2xx, 0);
    assert!(responses > 500, "only {responses} responses");
    assert!(
        errors <= CONNS,
        "{errors} errors: more than the {CONNS} requests that can be in flight"
    );
    assert_eq!(
        at_settled, errors,
        "requests failed after the process was taken out"
    );
    // And afterwards every request is served, by the process left.
    for _ in 0..20 {
        let (_, response) = http_get(d.front(0), "/", None);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    assert!(d.server("http", "b").0.starts_with("UP"));
}
