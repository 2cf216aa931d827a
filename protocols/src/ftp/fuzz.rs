//! Fuzz entry points of the ftp protocol (shared by `fuzz/` and the corpus-replay test).
//! None may panic on any input.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use netreactor::testing::Harness;

use super::config::{FtpConfig, Shared};
use super::parse::{self, LineEvent, LineReader};
use super::{FtpConn, User};

/// `(target name, entry point)` for every ftp fuzz target.
pub const TARGETS: &[crate::FuzzTarget] = &[
    ("ftp_command", command),
    ("ftp_address", address),
    ("ftp_session", session),
];

/// The line reader and command parser over arbitrary bytes, fed in two pieces.
pub fn command(data: &[u8]) {
    let mut reader = LineReader::new();
    let split = data.first().map_or(0, |&b| b as usize).min(data.len());
    for piece in [&data[..split], &data[split..]] {
        let mut input = BytesMut::from(piece);
        while let Some(event) = reader.next(&mut input) {
            if let LineEvent::Line(l) = event {
                assert!(l.len() <= parse::MAX_LINE);
                let _ = parse::parse_command(&l);
            }
        }
        assert!(input.is_empty());
        assert!(reader.pending() <= parse::MAX_LINE);
    }
}

/// PORT/EPRT/EPSV parsers; what parses must format back to the same address.
pub fn address(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = parse::parse_port(s) {
        assert_eq!(parse::parse_port(&parse::format_port(a)), Ok(a));
    }
    if let Ok(a) = parse::parse_eprt(s) {
        assert_eq!(parse::parse_eprt(&parse::format_eprt(a)), Ok(a));
    }
    let _ = parse::parse_epsv(s);
}

/// A temporary root shared by every run of [`session`] in this process.
fn fuzz_root() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netreactor-ftp-fuzz-{}", std::process::id()));
    if !dir.exists() {
        let _ = std::fs::create_dir_all(dir.join("sub"));
        let _ = std::fs::write(dir.join("file.txt"), b"hello\nworld\n");
    }
    dir
}

/// The control state machine through the harness: the input is the control stream (after
/// a login as a read-only user, so the fuzzer cannot fill the disk); byte 0 picks how it
/// is split; passive listeners get a connection and the clock moves.
pub fn session(data: &[u8]) {
    let Some((&ctl, wire)) = data.split_first() else {
        return;
    };
    let root = fuzz_root();
    let mut config = FtpConfig {
        login_delay: Duration::from_millis(10),
        ..FtpConfig::default()
    };
    config.users.add(User {
        name: "u".into(),
        password: "p".into(),
        home: root,
        perms: "elr".parse().unwrap(),
    });
    let mut h = Harness::new();
    let c = h.open(FtpConn::new(Rc::new(Shared::new(config))));
    if ctl & 1 == 0 {
        h.feed(c, b"USER u\r\nPASS p\r\n");
    }
    let size = usize::from(ctl >> 1).max(1);
    for chunk in wire.chunks(size) {
        h.feed(c, chunk);
        for child in h.children(c) {
            if h.child_listen_addr(child).is_some() {
                h.accept_child(child, "127.0.0.1:40000".parse().unwrap());
            } else if h.child_connect_addr(child).is_some() {
                h.complete_connect(child, ctl & 2 == 0);
            }
        }
        h.advance(Duration::from_millis(20));
        let _ = h.take_output(c);
    }
    h.advance(Duration::from_secs(400));
}
