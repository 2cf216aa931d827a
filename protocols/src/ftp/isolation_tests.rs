//! One client cannot hurt the others or escape its home: bounded output per turn, no
//! blocking opens, no forged listing lines, no writes through hard links, no descriptor
//! hoarding, nothing created by a failed upload. Sans-IO, through the harness.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use super::conn::OUTPUT_BUDGET;
use super::listing::STAT_MAX_ENTRIES;
use super::session_tests::{code, setup, T};

impl T {
    /// A passive data connection for the next transfer.
    fn data_conn(&mut self) -> netreactor::ConnId {
        let listener = self.pasv();
        let peer: SocketAddr = "127.0.0.1:40100".parse().unwrap();
        self.h.accept_child(listener, peer).unwrap()
    }

    /// `STOR`-like `cmd` of `data` over a passive connection; returns every reply.
    fn upload(&mut self, cmd: &str, data: &[u8]) -> String {
        let conn = self.data_conn();
        let mut out = self.send(&format!("{cmd}\r\n"));
        if code(&out) == "125" || code(&out) == "150" {
            self.h.feed(conn, data);
            self.h.eof(conn);
            out.push_str(&String::from_utf8(self.h.take_output(self.c)).unwrap());
        }
        out
    }

    /// The lines a listing command sends over the data connection.
    fn listing(&mut self, cmd: &str) -> Vec<String> {
        let conn = self.data_conn();
        let r = self.send(&format!("{cmd}\r\n"));
        assert!(r.contains("226 "), "{cmd}: {r}");
        let text = String::from_utf8(self.h.take_output(conn)).unwrap();
        text.split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Files in `dir` whose name starts with `.` (the temporary files of uploads).
fn dot_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn pipelined_stat_of_a_big_directory_keeps_queued_output_bounded_and_answers_every_command() {
    let mut t = setup("statflood", "elr", |_| {});
    let big = t.root.join("big");
    std::fs::create_dir(&big).unwrap();
    for i in 0..1500 {
        std::fs::write(big.join(format!("file-{i:05}.dat")), b"x").unwrap();
    }
    t.login();
    let slow_peer = 64 * 1024;
    t.h.set_write_capacity(t.c, Some(slow_peer));
    let burst = "STAT big\r\n".repeat(1500);
    t.h.feed(t.c, burst.as_bytes());
    let bound = OUTPUT_BUDGET + 128 * 1024;
    let (mut answered, mut entries, mut pending) = (0, 0, String::new());
    for _ in 0..100_000 {
        assert!(
            t.h.queued(t.c) <= bound,
            "{} bytes queued after {answered} answers",
            t.h.queued(t.c)
        );
        pending.push_str(&String::from_utf8(t.h.take_output(t.c)).unwrap());
        while let Some(end) = pending.find("213 End of status.\r\n") {
            let reply: String = pending.drain(..end + 20).collect();
            assert!(
                reply.contains("(listing truncated at 1000 entries"),
                "{reply:.200}"
            );
            entries = reply.matches(" file-").count();
            answered += 1;
        }
        if answered == 1500 {
            break;
        }
    }
    assert_eq!(answered, 1500, "every STAT answered once the peer reads");
    assert_eq!(
        entries, STAT_MAX_ENTRIES,
        "a reply shows the capped listing"
    );
    assert!(t.h.is_open(t.c));
}

#[test]
fn commands_after_a_yield_run_when_the_client_reads() {
    let mut t = setup("yield", "elr", |_| {});
    let big = t.root.join("big");
    std::fs::create_dir(&big).unwrap();
    for i in 0..1200 {
        std::fs::write(big.join(format!("f{i}")), b"").unwrap();
    }
    t.login();
    t.h.set_write_capacity(t.c, Some(0));
    t.h.feed(t.c, b"STAT big\r\nSTAT big\r\nNOOP\r\n");
    assert!(t.h.queued(t.c) <= OUTPUT_BUDGET + 128 * 1024);
    assert!(t.h.is_read_paused(t.c), "the rest of the input waits");
    t.h.set_write_capacity(t.c, None);
    let out = String::from_utf8(t.h.take_output(t.c)).unwrap();
    let out = out + &String::from_utf8(t.h.take_output(t.c)).unwrap();
    assert_eq!(out.matches("213 End of status.").count(), 2);
    assert!(
        out.ends_with("200 NOOP ok.\r\n"),
        "{:.100}",
        &out[out.len() - 100..]
    );
}

#[test]
fn stor_retr_appe_onto_a_fifo_are_refused_at_once() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut t = setup("fifo", "elradfmwMT", |_| {});
        let fifo = t.root.join("pipe");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o666) }, 0);
        t.login();
        t.send("TYPE I\r\n");
        let mut replies = Vec::new();
        for cmd in [
            "STOR pipe",
            "APPE pipe",
            "RETR pipe",
            "MFMT 20200101000000 pipe",
        ] {
            t.pasv();
            replies.push((cmd, t.send(&format!("{cmd}\r\n"))));
        }
        t.send("REST 1\r\n");
        replies.push(("REST 1 + STOR pipe", t.send("STOR pipe\r\n")));
        tx.send(replies).unwrap();
    });
    let replies = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the reactor thread blocked opening a FIFO");
    for (cmd, r) in replies {
        assert_eq!(code(&r), "550", "{cmd}: {r}");
    }
}

#[test]
fn a_file_name_with_crlf_never_forges_a_listing_line() {
    let mut t = setup("crlf", "elradfmwMT", |_| {});
    let forged = "note.txt\r\n-rw-r--r--   1 0 0 10 Jan  1 00:00 passwords.txt";
    std::fs::write(t.root.join(forged), b"x").unwrap();
    std::fs::write(t.root.join("tab\there"), b"x").unwrap();
    t.login();
    for cmd in ["LIST", "NLST", "MLSD"] {
        let lines = t.listing(cmd);
        assert_eq!(lines.len(), 2, "{cmd}: only a.txt and sub: {lines:?}");
        assert!(!lines.iter().any(|l| l.contains("passwords")), "{cmd}");
    }
    let stat = t.send("STAT /\r\n");
    assert!(
        !stat.contains("passwords") && !stat.contains("tab"),
        "{stat}"
    );
    assert_eq!(stat.matches("\r\n").count(), 4, "{stat}");
}

#[test]
fn names_with_control_characters_are_refused_on_every_write() {
    let mut t = setup("ctlwrite", "elradfmwMT", |_| {});
    t.login();
    // CR NUL is how a client sends a CR inside a path (RFC 959 §3.1.1.1... Telnet).
    for cmd in ["STOR a\r\0b", "APPE x\ty", "STOU z\x7f", "MKD d\x01"] {
        t.pasv();
        let r = t.send(&format!("{cmd}\r\n"));
        assert_eq!(code(&r), "553", "{cmd:?}: {r}");
    }
    assert_eq!(code(&t.send("RNFR a.txt\r\n")), "350");
    assert_eq!(code(&t.send("RNTO b\r\0c\r\n")), "553");
    let names: Vec<_> = std::fs::read_dir(&t.root).unwrap().collect();
    assert_eq!(names.len(), 2, "nothing created: {names:?}");
}

#[test]
fn stor_over_a_hard_link_to_an_outside_file_replaces_the_link_only() {
    let mut t = setup("hardlink", "elradfmwMT", |_| {});
    let outside = t.root.with_extension("outside");
    std::fs::write(&outside, b"outside secret").unwrap();
    std::fs::hard_link(&outside, t.root.join("link")).unwrap();
    t.login();
    t.send("TYPE I\r\n");
    let r = t.upload("STOR link", b"overwritten?");
    assert!(r.contains("226 "), "{r}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"outside secret");
    assert_eq!(std::fs::read(t.root.join("link")).unwrap(), b"overwritten?");
    // In-place writes refuse a file with several links.
    std::fs::hard_link(&outside, t.root.join("link2")).unwrap();
    assert_eq!(code(&t.upload("APPE link2", b"more")), "550");
    t.send("REST 1\r\n");
    assert_eq!(code(&t.upload("STOR link2", b"more")), "550");
    assert_eq!(std::fs::read(&outside).unwrap(), b"outside secret");
    assert!(dot_files(&t.root).is_empty(), "{:?}", dot_files(&t.root));
    let _ = std::fs::remove_file(outside);
}

/// The harness cannot see listeners that live only within one callback; the real-socket
/// test `tests/ftp_pasv_burst.rs` (a two-port range) is the one that catches a listener held
/// past its replacement.
#[test]
fn a_burst_of_pasv_and_epsv_is_answered_in_full_with_at_most_two_listeners_between_turns() {
    let mut t = setup("pasvburst", "elr", |_| {});
    t.login();
    t.h.set_write_capacity(t.c, Some(200));
    t.h.feed(t.c, "PASV\r\n".repeat(1000).as_bytes());
    t.h.feed(t.c, "EPSV\r\n".repeat(1000).as_bytes());
    let (mut replies, mut out) = (0, String::new());
    for _ in 0..100_000 {
        assert!(t.h.children(t.c).len() <= 2, "{:?}", t.h.children(t.c));
        out.push_str(&String::from_utf8(t.h.take_output(t.c)).unwrap());
        replies = out.matches("\r\n227 ").count() + out.matches("\r\n229 ").count();
        if replies == 1999 {
            break;
        }
    }
    assert!(out.starts_with("227 "), "{:.100}", out);
    let replies = replies + 1;
    assert_eq!(replies, 2000);
    assert_eq!(t.h.children(t.c).len(), 1, "the last listener stays");
}

#[test]
fn rest_then_stor_of_a_missing_file_creates_nothing() {
    let mut t = setup("restmissing", "elradfmwMT", |_| {});
    t.login();
    assert_eq!(code(&t.send("REST 10\r\n")), "350");
    t.pasv();
    assert_eq!(code(&t.send("STOR nope.bin\r\n")), "550");
    assert!(!t.root.join("nope.bin").exists());
    assert!(dot_files(&t.root).is_empty());
    // The offset was used up: the next STOR starts at 0 and works.
    let r = t.upload("STOR nope.bin", b"data");
    assert!(r.contains("226 "), "{r}");
    assert_eq!(std::fs::read(t.root.join("nope.bin")).unwrap(), b"data");
}

#[test]
fn an_aborted_stor_creates_nothing_and_keeps_the_old_file() {
    let mut t = setup("aborted", "elradfmwMT", |_| {});
    t.login();
    for name in ["new.bin", "a.txt"] {
        let conn = t.data_conn();
        assert_eq!(code(&t.send(&format!("STOR {name}\r\n"))), "125");
        t.h.feed(conn, b"partial");
        let r = t.send("ABOR\r\n");
        assert!(r.starts_with("426 "), "{r}");
        assert!(dot_files(&t.root).is_empty(), "{:?}", dot_files(&t.root));
    }
    assert!(!t.root.join("new.bin").exists());
    assert_eq!(std::fs::read(t.root.join("a.txt")).unwrap(), b"one\ntwo\n");
    // A connection closed mid-upload leaves nothing either.
    let conn = t.data_conn();
    assert_eq!(code(&t.send("STOR gone.bin\r\n")), "125");
    t.h.feed(conn, b"partial");
    t.h.feed(t.c, b"QUIT\r\n");
    t.h.eof(t.c);
    assert!(!t.root.join("gone.bin").exists());
    assert!(dot_files(&t.root).is_empty(), "{:?}", dot_files(&t.root));
}

#[test]
fn dot_files_are_hidden_and_refused_unless_shown() {
    for show in [false, true] {
        let mut t = setup(&format!("hidden-{show}"), "elradfmwMT", |c| {
            c.show_hidden = show
        });
        std::fs::create_dir(t.root.join(".git")).unwrap();
        std::fs::write(t.root.join(".env"), b"KEY=1").unwrap();
        t.login();
        let names = t.listing("NLST");
        assert_eq!(names.iter().any(|n| n == ".env"), show, "{names:?}");
        assert_eq!(t.listing("LIST").len(), if show { 4 } else { 2 });
        let want = if show { "250" } else { "550" };
        assert_eq!(code(&t.send("CWD .git\r\n")), want);
        t.send("CWD /\r\n");
        t.send("TYPE I\r\n");
        let want = if show { "213" } else { "550" };
        assert_eq!(code(&t.send("SIZE .env\r\n")), want);
        t.pasv();
        let want = if show { "150" } else { "550" };
        assert_eq!(code(&t.send("RETR .env\r\n")), want);
    }
}

#[test]
fn stat_listings_are_reused_for_a_second_while_the_directory_is_unchanged() {
    let mut t = setup("statcache", "elr", |_| {});
    std::fs::write(t.root.join("sub/f"), b"12345").unwrap();
    t.login();
    let size_of_f = |r: &str| {
        r.lines()
            .find(|l| l.ends_with(" f"))
            .and_then(|l| l.split_whitespace().nth(4))
            .map(str::to_string)
    };
    let first = t.send("STAT sub\r\n");
    assert_eq!(size_of_f(&first).as_deref(), Some("5"), "{first}");
    // Same directory mtime, within the second: the kept listing (old size).
    std::fs::write(t.root.join("sub/f"), b"1234567").unwrap();
    assert_eq!(t.send("STAT sub\r\n"), first);
    assert_eq!(t.send("STAT /sub\r\n").replace("/sub", "sub"), first);
    // An entry added changes the directory's mtime: rebuilt at once.
    std::fs::write(t.root.join("sub/g"), b"").unwrap();
    let third = t.send("STAT sub\r\n");
    assert!(third.lines().any(|l| l.ends_with(" g")), "{third}");
    std::fs::write(t.root.join("sub/f"), b"123456789").unwrap();
    t.h.advance(Duration::from_secs(2));
    let later = t.send("STAT sub\r\n");
    assert_eq!(
        size_of_f(&later).as_deref(),
        Some("9"),
        "rebuilt after a second: {later}"
    );
}
