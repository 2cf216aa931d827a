//! The `netreactor` binary's operations side with real clients over loopback: `/metrics`
//! scraped and parsed by Python's `prometheus_client` after curl (HTTP, FTP), `websockets`
//! and raw Telnet traffic; the access log and the xferlog checked line by line with
//! regular expressions; `--log-format json` checked line by line with a JSON parser.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn python() -> String {
    if let Ok(p) = std::env::var("NETREACTOR_PYTHON") {
        return p;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ci-venv/bin/python");
    if venv.exists() {
        return venv.display().to_string();
    }
    "python3".into()
}

/// The binary on free ports, logging JSON; its stderr lines as they come.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    addrs: HashMap<String, SocketAddr>,
}

impl Server {
    fn start(root: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "--root",
            root.to_str().unwrap(),
            "--log-format",
            "json",
            "--http",
            "127.0.0.1:0",
            "--no-https",
            "--ws",
            "127.0.0.1:0",
            "--ftp",
            "127.0.0.1:0",
            "--telnet",
            "127.0.0.1:0",
            "--echo",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_netreactor"))
            .args(&args)
            .env_remove("RUST_LOG")
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
        let mut s = Server {
            child,
            lines,
            seen: Vec::new(),
            addrs: HashMap::new(),
        };
        let want = ["metrics", "http", "websocket", "ftp", "telnet"];
        let deadline = Instant::now() + Duration::from_secs(20);
        while s.addrs.len() < want.len() && Instant::now() < deadline {
            let Ok(line) = s.lines.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line}"));
            let fields = &v["fields"];
            let msg = fields["message"].as_str().unwrap_or_default();
            let addr = fields["addr"].as_str().or(fields["local"].as_str());
            if let (Some(addr), Some(name)) = (addr, want.iter().find(|w| msg.starts_with(**w))) {
                s.addrs.insert(name.to_string(), addr.parse().unwrap());
            }
            s.seen.push(line);
        }
        assert_eq!(s.addrs.len(), want.len(), "start-up lines: {:?}", s.seen);
        s
    }

    fn addr(&self, name: &str) -> SocketAddr {
        self.addrs[name]
    }

    /// Every sample of `/metrics`, parsed by `prometheus_client`: `name{k="v",...}` (labels
    /// sorted) to value.
    fn scrape(&self) -> HashMap<String, f64> {
        let script = r#"
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
out = {}
for fam in text_string_to_metric_families(body):
    for s in fam.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        out["%s{%s}" % (s.name, labels)] = s.value
print(json.dumps(out))
"#;
        let url = format!("http://{}/metrics", self.addr("metrics"));
        let out = Command::new(python())
            .args(["-c", script, &url])
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "scrape failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the script's JSON")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(m: &HashMap<String, f64>, key: &str) -> f64 {
    *m.get(key)
        .unwrap_or_else(|| panic!("no sample {key}; have {:?}", m.keys().collect::<Vec<_>>()))
}

fn curl(args: &[&str]) {
    let out = Command::new("curl")
        .args(["-s", "-S", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn temp_root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netreactor-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello metrics\n").unwrap();
    dir
}

/// Polls `scrape` until `ok` (counters come from other threads between loop turns).
fn scrape_until(s: &Server, ok: impl Fn(&HashMap<String, f64>) -> bool) -> HashMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = s.scrape();
        if ok(&m) || Instant::now() > deadline {
            return m;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

const HTTP: &str = r#"server="http",worker="0""#;

#[test]
fn metrics_count_http_websocket_ftp_and_telnet_traffic() {
    let root = temp_root("metrics");
    let s = Server::start(&root, &[]);
    let http = s.addr("http");
    let before = s.scrape();
    assert_eq!(
        get(
            &before,
            &format!(r#"netreactor_http_responses_total{{code="2xx",{HTTP}}}"#)
        ),
        0.0
    );

    // Five 200s on one keep-alive connection, then two 404s on another.
    let url = format!("http://{http}/a.txt");
    curl(&["-o", "/dev/null", &url, &url, &url, &url, &url]);
    let missing = format!("http://{http}/missing");
    curl(&["-o", "/dev/null", &missing, &missing]);
    let m = scrape_until(&s, |m| {
        m.get(&format!(r#"netreactor_connections_open{{{HTTP}}}"#)) == Some(&0.0)
    });
    let class = |m: &HashMap<String, f64>, c: &str| {
        get(
            m,
            &format!(r#"netreactor_http_responses_total{{code="{c}",{HTTP}}}"#),
        )
    };
    assert_eq!(class(&m, "2xx"), 5.0);
    assert_eq!(class(&m, "4xx"), 2.0);
    assert_eq!(class(&m, "5xx"), 0.0);
    assert_eq!(
        get(
            &m,
            &format!("netreactor_connections_accepted_total{{{HTTP}}}")
        ),
        2.0
    );
    assert_eq!(
        get(&m, &format!("netreactor_connections_open{{{HTTP}}}")),
        0.0
    );
    let closed = format!(r#"netreactor_connections_closed_total{{reason="peer",{HTTP}}}"#);
    assert_eq!(get(&m, &closed), 2.0);
    let sent = format!("netreactor_bytes_sent_total{{{HTTP}}}");
    let sent1 = get(&m, &sent);
    assert!(sent1 > 5.0 * 14.0, "bytes sent {sent1}");
    curl(&["-o", "/dev/null", &url]);
    let m = scrape_until(&s, |m| class(m, "2xx") == 6.0);
    assert!(get(&m, &sent) > sent1, "bytes_sent did not grow");

    // A request rejected with its body still to come: its close lingers until the client
    // closes too, and the gauge shows it meanwhile.
    let lingering = format!("netreactor_connections_lingering{{{HTTP}}}");
    assert_eq!(get(&m, &lingering), 0.0);
    let mut raw = std::net::TcpStream::connect(http).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 4"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let m = scrape_until(&s, |m| m.get(&lingering) == Some(&1.0));
    assert_eq!(get(&m, &lingering), 1.0);
    drop(raw);
    let m = scrape_until(&s, |m| m.get(&lingering) == Some(&0.0));
    assert_eq!(get(&m, &lingering), 0.0);

    // WebSocket: three messages echoed by the --ws server.
    let ws = format!("ws://{}/", s.addr("websocket"));
    let script = r#"
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as c:
        for i in range(3):
            await c.send("m%d" % i)
            assert await c.recv() == "m%d" % i
asyncio.run(main())
"#;
    let out = Command::new(python())
        .args(["-c", script, &ws])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wsm = |m: &HashMap<String, f64>, d: &str| {
        get(
            m,
            &format!(
                r#"netreactor_websocket_messages_total{{direction="{d}",server="ws",worker="0"}}"#
            ),
        )
    };
    let m = scrape_until(&s, |m| wsm(m, "out") == 3.0);
    assert_eq!((wsm(&m, "in"), wsm(&m, "out")), (3.0, 3.0));

    // FTP: one download, one upload (the built-in user foo/bar).
    let ftp = s.addr("ftp");
    curl(&[
        "-u",
        "foo:bar",
        "-o",
        "/dev/null",
        &format!("ftp://{ftp}/a.txt"),
    ]);
    let up = root.join("up.src");
    std::fs::write(&up, vec![b'x'; 1000]).unwrap();
    curl(&[
        "-u",
        "foo:bar",
        "-T",
        up.to_str().unwrap(),
        &format!("ftp://{ftp}/up.txt"),
    ]);
    let ftpm = |m: &HashMap<String, f64>, name: &str, d: &str| {
        get(
            m,
            &format!(r#"{name}{{direction="{d}",server="ftp",worker="0"}}"#),
        )
    };
    let m = scrape_until(&s, |m| {
        ftpm(m, "netreactor_ftp_transfers_total", "upload") == 1.0
    });
    assert_eq!(ftpm(&m, "netreactor_ftp_transfers_total", "download"), 1.0);
    assert_eq!(
        ftpm(&m, "netreactor_ftp_transfer_bytes_total", "download"),
        14.0
    );
    assert_eq!(
        ftpm(&m, "netreactor_ftp_transfer_bytes_total", "upload"),
        1000.0
    );
    assert!(
        get(
            &m,
            r#"netreactor_bytes_received_total{server="ftp",worker="0"}"#
        ) > 1000.0
    );

    // Telnet: a user online while connected, none once gone.
    let users = r#"netreactor_telnet_users{server="telnet",worker="0"}"#;
    let mut t = TcpStream::connect(s.addr("telnet")).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 256];
    let _ = t.read(&mut buf).unwrap();
    let m = scrape_until(&s, |m| get(m, users) == 1.0);
    assert_eq!(get(&m, users), 1.0);
    assert_eq!(
        get(
            &m,
            r#"netreactor_connections_open{server="telnet",worker="0"}"#
        ),
        1.0
    );
    t.write_all(b"/quit\r\n").unwrap();
    drop(t);
    let m = scrape_until(&s, |m| get(m, users) == 0.0);
    assert_eq!(get(&m, users), 0.0);
    assert_eq!(
        get(
            &m,
            r#"netreactor_connections_open{server="telnet",worker="0"}"#
        ),
        0.0
    );
    assert_eq!(
        get(
            &m,
            r#"netreactor_telnet_logins_total{server="telnet",worker="0"}"#
        ),
        1.0
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn access_log_and_xferlog_lines_match_their_formats() {
    let root = temp_root("logs");
    let access = root.join("access.log");
    let xfer = root.join("xfer.log");
    let mut s = Server::start(
        &root,
        &[
            "--access-log",
            access.to_str().unwrap(),
            "--xferlog",
            xfer.to_str().unwrap(),
        ],
    );
    let http = s.addr("http");
    curl(&[
        "-o",
        "/dev/null",
        "-A",
        "probe \"agent\"",
        "-e",
        "http://ref.example/",
        &format!("http://{http}/a.txt"),
    ]);
    curl(&["-o", "/dev/null", &format!("http://{http}/missing")]);
    let ftp = s.addr("ftp");
    curl(&[
        "-u",
        "foo:bar",
        "-o",
        "/dev/null",
        &format!("ftp://{ftp}/a.txt"),
    ]);
    curl(&["-o", "/dev/null", &format!("ftp://{ftp}/a.txt")]);
    // The writer thread writes at least once a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    while (read(&access).lines().count() < 2 || read(&xfer).lines().count() < 2)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let script = r#"
import json, re, sys
clf = re.compile(r'(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "([^"\\]*(?:\\.[^"\\]*)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"')
xfer = re.compile(r'([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}) (\d+) (\S+) (\d+) (\S+) ([ab]) _ ([io]) ([arg]) (\S+) ftp 0 \* ([ci])')
out = {"access": [], "xfer": []}
for line in open(sys.argv[1]):
    m = clf.fullmatch(line.rstrip("\n"))
    out["access"].append(list(m.groups()) if m else line)
for line in open(sys.argv[2]):
    m = xfer.fullmatch(line.rstrip("\n"))
    out["xfer"].append(list(m.groups()) if m else line)
print(json.dumps(out))
"#;
    let out = Command::new(python())
        .args([
            "-c",
            script,
            access.to_str().unwrap(),
            xfer.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let access_lines = v["access"].as_array().unwrap();
    assert_eq!(access_lines.len(), 2, "{access_lines:?}");
    let f = |line: &serde_json::Value, i: usize| -> String {
        line.as_array()
            .unwrap_or_else(|| panic!("line does not match the format: {line}"))[i]
            .as_str()
            .unwrap()
            .to_string()
    };
    let ok = &access_lines[0];
    assert_eq!(f(ok, 0), "127.0.0.1");
    assert_eq!(f(ok, 2), "GET /a.txt HTTP/1.1");
    assert_eq!((f(ok, 3).as_str(), f(ok, 4).as_str()), ("200", "14"));
    assert_eq!(f(ok, 5), "http://ref.example/");
    assert_eq!(f(ok, 6), "probe \\\"agent\\\"");
    let missing = &access_lines[1];
    assert_eq!(
        (f(missing, 2).as_str(), f(missing, 3).as_str()),
        ("GET /missing HTTP/1.1", "404")
    );
    let xfer_lines = v["xfer"].as_array().unwrap();
    assert_eq!(xfer_lines.len(), 2, "{xfer_lines:?}");
    let (foo, anon) = (&xfer_lines[0], &xfer_lines[1]);
    assert_eq!(
        (f(foo, 2).as_str(), f(foo, 3).as_str(), f(foo, 4).as_str()),
        ("127.0.0.1", "14", "/a.txt")
    );
    assert_eq!(
        (f(foo, 6).as_str(), f(foo, 7).as_str(), f(foo, 8).as_str()),
        ("o", "r", "foo")
    );
    assert_eq!(f(foo, 9), "c");
    assert_eq!(
        (f(anon, 7).as_str(), f(anon, 8).as_str()),
        ("a", "anonymous")
    );
    // Every stderr line so far was JSON (checked as read); a few more after a request.
    curl(&["-o", "/dev/null", &format!("http://{http}/a.txt")]);
    let _ = s.child.kill();
    while let Ok(line) = s.lines.recv_timeout(Duration::from_secs(5)) {
        let v: Result<serde_json::Value, _> = serde_json::from_str(&line);
        assert!(
            v.is_ok_and(|v| v["level"].is_string()),
            "not a JSON log line: {line}"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
