//! Zero-downtime restart of the `netreactor` binary (`SIGUSR2`, docs/operations.md): load
//! that never sees a failed request while the server is replaced, a WebSocket told 1001
//! while the old process drains, and a successor that cannot start leaving the old process
//! serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nr-restart-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The server's log lines (every process of the chain writes to the same pipe).
struct Server {
    first: Child,
    pid_file: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(args: &[&str], pid_file: &Path) -> Server {
        let mut first = Command::new(env!("CARGO_BIN_EXE_netreactor"))
            .args(args)
            .arg("--pid-file")
            .arg(pid_file)
            .args(["--root", env!("CARGO_MANIFEST_DIR")])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("netreactor starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = first.stderr.take().unwrap();
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                l.lock().unwrap().push(line);
            }
        });
        let s = Server {
            first,
            pid_file: pid_file.to_owned(),
            log,
        };
        s.wait_pid(None);
        s
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Waits until the pid file names a process other than `old`.
    fn wait_pid(&self, old: Option<i32>) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(p) = self.pid().filter(|&p| Some(p) != old) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "no new pid file; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(p) = self.pid() {
            signal(p, libc::SIGKILL);
        }
        let _ = self.first.kill();
        let _ = self.first.wait();
    }
}

fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory preconditions; the pid is one the server wrote.
    unsafe { libc::kill(pid, sig) };
}

/// Gone, or a zombie nobody reaped yet (a successor's parent exits before it).
fn exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_exit(server: &mut Server, pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if pid == server.first.id() as i32 {
            if server.first.try_wait().unwrap().is_some() {
                return true;
            }
        } else if exited(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// One GET, its status code.
fn get(addr: SocketAddr) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET /Cargo.toml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut r = String::new();
    s.read_to_string(&mut r)?;
    r.get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad answer {r:?}")))
}

fn loadgen(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .args(["--json", "--progress", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen starts")
}

fn report(child: Child, what: &str) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: loadgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn errors(r: &serde_json::Value) -> u64 {
    r["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn three_restarts_under_load_lose_no_request_and_refuse_no_connect() {
    let dir = tmp_dir("load");
    let (http, https) = (free_port(), free_port());
    let (h, hs) = (http.to_string(), https.to_string());
    let mut server = Server::start(
        &[
            "--http",
            &h,
            "--https",
            &hs,
            "--workers",
            "2",
            "--no-ws",
            "--no-ftp",
            "--no-telnet",
            "--no-echo",
            "--drain-timeout",
            "10",
        ],
        &dir.join("pid"),
    );
    let secs = "9";
    let common = |url: String, c: &str, rate: &str| -> Vec<String> {
        let mut v: Vec<String> = ["http", &url, "-c", c, "-d", secs, "--rate", rate]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push("--timeout".into());
        v.push("5".into());
        v
    };
    let mut keep_alive = common(format!("http://{h}/Cargo.toml"), "20", "400");
    keep_alive.push("--reconnect".into());
    let mut close = common(format!("http://{h}/Cargo.toml"), "5", "100");
    close.push("--close".into());
    let mut tls = common(format!("https://{hs}/Cargo.toml"), "5", "100");
    tls.extend(["--reconnect".into(), "--insecure".into()]);
    let runs = [
        ("keep-alive", loadgen(&keep_alive)),
        ("close", loadgen(&close)),
        ("https", loadgen(&tls)),
    ];
    std::thread::sleep(Duration::from_millis(1500));
    let mut pids = vec![server.pid().unwrap()];
    let mut handover = Vec::new();
    for _ in 0..3 {
        let old = *pids.last().unwrap();
        let t = Instant::now();
        signal(old, libc::SIGUSR2);
        let new = server.wait_pid(Some(old));
        handover.push(t.elapsed());
        assert!(
            wait_exit(&mut server, old, Duration::from_secs(15)),
            "old process {old} did not exit; log:\n{}",
            server.log()
        );
        pids.push(new);
        std::thread::sleep(Duration::from_millis(1200));
    }
    let mut lines = Vec::new();
    for (what, child) in runs {
        let r = report(child, what);
        lines.push(format!(
            "{what}: responses {} non_2xx {} errors {} connected {} resent {}",
            r["responses"], r["non_2xx"], r["errors"], r["connected"], r["resent"]
        ));
        assert_eq!(errors(&r), 0, "{what}: {r}\nlog:\n{}", server.log());
        assert_eq!(r["errors"]["refused"], 0, "{what}");
        assert_eq!(r["non_2xx"], 0, "{what}");
        assert!(r["responses"].as_u64().unwrap() > 100, "{what}: {r}");
    }
    eprintln!("pids {pids:?}, handover (SIGUSR2 to new pid file) {handover:?}");
    for l in lines {
        eprintln!("{l}");
    }
    let distinct: std::collections::HashSet<_> = pids.iter().collect();
    assert_eq!(distinct.len(), 4, "three new processes: {pids:?}");
    for &p in &pids[..3] {
        assert!(exited(p) || p == server.first.id() as i32, "{p} still runs");
    }
    let last = *pids.last().unwrap();
    assert_eq!(get(http).unwrap(), 200);
    signal(last, libc::SIGTERM);
    assert!(wait_exit(&mut server, last, Duration::from_secs(15)));
    assert!(
        !dir.join("pid").exists(),
        "the last process removes its pid file"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads one WebSocket frame (server frames are unmasked): opcode and payload.
fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h)?;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b)?;
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b)?;
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload)?;
    Ok((h[0] & 0x0f, payload))
}

#[test]
fn a_websocket_is_sent_1001_while_the_old_process_drains() {
    let dir = tmp_dir("ws");
    let ws = free_port();
    let w = ws.to_string();
    let mut server = Server::start(
        &[
            "--ws",
            &w,
            "--no-http",
            "--no-ftp",
            "--no-telnet",
            "--no-echo",
        ],
        &dir.join("pid"),
    );
    let old = server.pid().unwrap();
    let mut s = TcpStream::connect(ws).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    signal(old, libc::SIGUSR2);
    let new = server.wait_pid(Some(old));
    let (op, payload) = read_frame(&mut s).expect("a close frame");
    assert_eq!(op, 8, "close frame");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1001);
    // Answer the close: the old process has nothing left and exits.
    s.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9]).unwrap();
    assert!(
        wait_exit(&mut server, old, Duration::from_secs(10)),
        "{}",
        server.log()
    );
    // The new process serves WebSocket on the same port.
    let mut s2 = TcpStream::connect(ws).unwrap();
    s2.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s2.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut got = [0u8; 12];
    s2.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"HTTP/1.1 101");
    assert_ne!(new, old);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_successor_that_cannot_start_leaves_the_old_process_serving() {
    let dir = tmp_dir("broken");
    let http = free_port();
    let h = http.to_string();
    let successor = dir.join("successor");
    let mut server = Server::start(
        &[
            "--http",
            &h,
            "--no-https",
            "--no-ws",
            "--no-ftp",
            "--no-telnet",
            "--no-echo",
            "--upgrade-binary",
            successor.to_str().unwrap(),
            "--upgrade-timeout",
            "1",
        ],
        &dir.join("pid"),
    );
    let pid = server.pid().unwrap();
    // No such file; a binary that exits at once; one that never says it is ready.
    let scripts: [Option<&str>; 3] = [None, Some("exit 3"), Some("exec sleep 30")];
    for (round, script) in scripts.into_iter().enumerate() {
        if let Some(body) = script {
            let tmp = dir.join("tmp");
            std::fs::write(&tmp, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::rename(&tmp, &successor).unwrap();
        }
        signal(pid, libc::SIGUSR2);
        let failures = || {
            server
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains("restart failed; still serving"))
                .count()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while failures() <= round && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            failures(),
            round + 1,
            "round {round}; log:\n{}",
            server.log()
        );
        assert_eq!(get(http).unwrap(), 200, "still serving after round {round}");
        assert_eq!(server.pid(), Some(pid));
        assert!(server.first.try_wait().unwrap().is_none());
    }
    assert!(server.wait_log("not ready in time", Duration::from_secs(1)));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn socket_activation_by_listen_fds_is_adopted_by_address() {
    // What systemd does for a `.socket` unit: a listening socket at descriptor 3,
    // LISTEN_FDS=1 and LISTEN_PID the service's own pid (known only in the child: set by a
    // shell that then execs the binary, keeping its pid).
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let dir = tmp_dir("activation");
    let sock = TcpListener::bind("127.0.0.1:0").unwrap();
    let http = sock.local_addr().unwrap();
    let echo = free_port();
    let fd = sock.as_raw_fd();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_netreactor"))
        .args(["--http", &http.to_string(), "--echo", &echo.to_string()])
        .args(["--no-https", "--no-ws", "--no-ftp", "--no-telnet"])
        .args(["--root", env!("CARGO_MANIFEST_DIR")])
        .arg("--pid-file")
        .arg(dir.join("pid"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: dup2 and fcntl only, between fork and exec (async-signal-safe). A socket that
    // already is descriptor 3 only loses close-on-exec (dup2 onto itself would keep it).
    unsafe {
        cmd.pre_exec(move || {
            let r = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let first = cmd.spawn().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut server = Server {
        first,
        pid_file: dir.join("pid"),
        log: log.clone(),
    };
    let stderr = server.first.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.lock().unwrap().push(line);
        }
    });
    let pid = server.wait_pid(None);
    assert_eq!(pid, server.first.id() as i32, "the shell exec'd the binary");
    // Our copy goes: from now on only the server holds the socket.
    drop(sock);
    assert_eq!(get(http).unwrap(), 200, "{}", server.log());
    assert!(server.wait_log("adopted inherited listening socket", Duration::from_secs(1)));
    // The echo server was not inherited: bound by the binary itself.
    let mut e = TcpStream::connect(echo).unwrap();
    e.write_all(b"hi").unwrap();
    let mut b = [0u8; 2];
    e.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"hi");
    let _ = std::fs::remove_dir_all(dir);
}
