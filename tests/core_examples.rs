//! The examples, run as the separate programs a user runs (cargo builds them for `cargo
//! test`), including the echo server under a 64-descriptor limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(path.exists(), "example {name} not built at {path:?}");
    path
}

/// A running example; killed when dropped.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd`, waits for its "... on ADDR" / "... listening on ADDR" line on stderr.
fn start(mut cmd: Command) -> (Running, String) {
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = lines.read_to_string(&mut sink);
    });
    (Running { child }, addr)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

#[test]
fn the_echo_example_echoes() {
    let mut cmd = Command::new(example("echo"));
    cmd.arg("127.0.0.1:0");
    let (_server, addr) = start(cmd);
    let mut s = connect(addr.parse().unwrap());
    s.write_all(b"hello echo").unwrap();
    let mut got = [0u8; 10];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello echo");
}

#[test]
fn the_echo_example_is_under_fifty_lines() {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/echo.rs")).unwrap();
    assert!(
        src.lines().count() < 50,
        "examples/echo.rs has {} lines",
        src.lines().count()
    );
}

#[test]
fn the_line_chat_example_relays_lines_to_everyone_else() {
    let mut cmd = Command::new(example("line_chat"));
    cmd.arg("127.0.0.1:0");
    let (_server, addr) = start(cmd);
    let addr: SocketAddr = addr.parse().unwrap();
    let mut a = connect(addr);
    let b = connect(addr);
    let c = connect(addr);
    let mut rb = BufReader::new(b);
    let mut rc = BufReader::new(c);
    // b and c first see each other join; skip join lines.
    a.write_all(b"hello room\n").unwrap();
    for r in [&mut rb, &mut rc] {
        let mut line = String::new();
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            if !line.starts_with('*') {
                break;
            }
        }
        assert!(line.ends_with(": hello room\n"), "got {line:?}");
    }
    drop(a);
    let mut line = String::new();
    rb.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("* #") && line.ends_with(" left\n"),
        "got {line:?}"
    );
}

#[test]
fn the_udp_echo_example_echoes_datagrams() {
    let mut cmd = Command::new(example("udp_echo"));
    cmd.arg("127.0.0.1:0");
    let (_server, addr) = start(cmd);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.send_to(b"datagram", &addr).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"datagram");
}

#[test]
fn the_unix_echo_example_echoes() {
    let path = std::env::temp_dir().join(format!("nr-unix-example-{}.sock", std::process::id()));
    let mut cmd = Command::new(example("unix_echo"));
    cmd.arg(&path);
    let (_server, _) = start(cmd);
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"unix").unwrap();
    let mut got = [0u8; 4];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"unix");
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_ping_example_gets_icmp_echo_replies() {
    // Needs an ICMP datagram socket (ping_group_range) or a raw one (root); CI runs as root.
    let out = Command::new(example("ping"))
        .args(["127.0.0.1", "3"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ping failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.matches("bytes from 127.0.0.1: icmp_seq=").count(),
        3,
        "{text}"
    );
    assert!(text.contains("3 packets transmitted, 3 received"), "{text}");
}

/// CPU time (user + system) of a process, in clock ticks.
#[cfg(target_os = "linux")] // Another process's CPU time is read from /proc/PID/stat.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime) are 12 and 13 after the command name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Sends one byte on each stream and counts those answered within the window.
fn served(streams: &mut [TcpStream], window: Duration) -> Vec<bool> {
    for s in streams.iter_mut() {
        let _ = s.write_all(b"?");
    }
    std::thread::sleep(window);
    streams
        .iter_mut()
        .map(|s| {
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 8];
            let ok = matches!(s.read(&mut b), Ok(n) if n > 0);
            s.set_nonblocking(false).unwrap();
            ok
        })
        .collect()
}

#[test]
fn out_of_descriptors_the_server_keeps_serving_and_does_not_spin() {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(example("echo"));
    cmd.arg("127.0.0.1:0");
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit,
    // which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 64, 64)
                .map_err(std::io::Error::from)
        });
    }
    let (server, addr) = start(cmd);
    let addr: SocketAddr = addr.parse().unwrap();
    // 200 connection attempts: the kernel completes them into the backlog; the server can
    // only accept as many as its 64 descriptors allow.
    let mut streams: Vec<TcpStream> = (0..200).map(|_| connect(addr)).collect();
    let first = served(&mut streams, Duration::from_millis(800));
    let n_served = first.iter().filter(|&&s| s).count();
    assert!(
        (30..64).contains(&n_served),
        "served {n_served} of 200 with 64 descriptors"
    );

    // No busy loop while the listener keeps reporting pending connections.
    #[cfg(target_os = "linux")] // cpu_ticks reads /proc/PID/stat.
    {
        let pid = server.child.id();
        let before = cpu_ticks(pid);
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let ticks = cpu_ticks(pid) - before;
        let ticks_per_sec = 100.0; // USER_HZ on Linux
        let cpu = ticks as f64 / ticks_per_sec / t0.elapsed().as_secs_f64();
        assert!(
            cpu < 0.10,
            "server used {:.0}% CPU while out of descriptors",
            cpu * 100.0
        );
    }

    // Connections it holds are still served.
    let held = first.iter().position(|&s| s).unwrap();
    streams[held].write_all(b"still").unwrap();
    let mut got = [0u8; 5];
    streams[held].read_exact(&mut got).unwrap();
    assert_eq!(&got, b"still");

    // Closing 40 served connections frees descriptors: waiting ones are accepted.
    let mut closed = 0;
    let mut waiting = Vec::new();
    for (s, was_served) in streams.into_iter().zip(first) {
        if was_served && closed < 40 {
            closed += 1;
            drop(s);
        } else if !was_served {
            waiting.push(s);
        }
    }
    let mut waiting: Vec<TcpStream> = waiting.into_iter().take(100).collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut newly = 0;
    while Instant::now() < deadline && newly < 30 {
        newly = served(&mut waiting, Duration::from_millis(300))
            .iter()
            .filter(|&&s| s)
            .count();
    }
    assert!(
        newly >= 30,
        "only {newly} waiting connections were accepted after 40 closed"
    );
    drop(server);
}

#[test]
fn sigterm_stops_accepting_and_lets_connections_finish() {
    let mut cmd = Command::new(example("echo"));
    cmd.arg("127.0.0.1:0");
    let (mut server, addr) = start(cmd);
    let addr: SocketAddr = addr.parse().unwrap();
    let mut s = connect(addr);
    s.write_all(b"last words").unwrap();
    let mut got = [0u8; 10];
    s.read_exact(&mut got).unwrap();
    let pid = server.child.id() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    // The echo protocol's default on_shutdown closes after flushing: the client sees EOF.
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(TcpStream::connect(addr).is_err());
}
