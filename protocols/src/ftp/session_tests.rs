//! Sans-IO tests of the control state machine through the core's harness.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use netreactor::testing::Harness;
use netreactor::ConnId;

use super::config::{FtpConfig, Shared};
use super::{FtpConn, User};

/// A control connection through the harness, with its home.
pub(super) struct T {
    pub(super) h: Harness,
    pub(super) c: ConnId,
    pub(super) root: PathBuf,
}

/// A fresh home `ftp-sess-<pid>-<name>` holding `sub/` and `a.txt` (`one\ntwo\n`).
pub(super) fn root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ftp-sess-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), b"one\ntwo\n").unwrap();
    dir
}

/// A connection of user `foo`/`bar` with `perms`, greeted; `tweak` changes the config.
pub(super) fn setup(name: &str, perms: &str, tweak: impl FnOnce(&mut FtpConfig)) -> T {
    let root = root(name);
    let mut config = FtpConfig {
        login_delay: Duration::from_millis(200),
        ..FtpConfig::default()
    };
    config.users.add(User {
        name: "foo".into(),
        password: "bar".into(),
        home: root.clone(),
        perms: perms.parse().unwrap(),
    });
    tweak(&mut config);
    let mut h = Harness::new();
    let c = h.open(FtpConn::new(Rc::new(Shared::new(config))));
    assert!(h.peek_output(c).starts_with("220 "));
    h.take_output(c);
    T { h, c, root }
}

impl T {
    /// Feeds a line (or several) and returns what the server answered.
    pub(super) fn send(&mut self, line: &str) -> String {
        self.h.feed(self.c, line.as_bytes());
        String::from_utf8(self.h.take_output(self.c)).unwrap()
    }
    /// Logs in as foo.
    pub(super) fn login(&mut self) {
        assert!(self.send("USER foo\r\n").starts_with("331 "));
        assert!(self.send("PASS bar\r\n").starts_with("230 "));
    }
    /// PASV; returns the child listener.
    pub(super) fn pasv(&mut self) -> ConnId {
        let r = self.send("PASV\r\n");
        assert!(r.starts_with("227 "), "{r}");
        let listener = *self.h.children(self.c).last().unwrap();
        assert!(self.h.child_listen_addr(listener).is_some());
        listener
    }
}

/// The reply code of `r`.
pub(super) fn code(r: &str) -> &str {
    &r[..3.min(r.len())]
}

#[test]
fn commands_before_login_get_530_and_bad_sequences_503() {
    let mut t = setup("prelogin", "elrf", |_| {});
    assert_eq!(code(&t.send("PWD\r\n")), "530");
    assert_eq!(code(&t.send("RETR a.txt\r\n")), "530");
    assert_eq!(code(&t.send("PASS bar\r\n")), "503");
    assert_eq!(code(&t.send("SYST\r\n")), "215");
    t.login();
    assert_eq!(code(&t.send("RNTO x\r\n")), "503");
    assert_eq!(code(&t.send("PASS bar\r\n")), "503");
    assert_eq!(code(&t.send("FROB\r\n")), "500");
    assert_eq!(code(&t.send("TYPE E\r\n")), "504");
    assert_eq!(code(&t.send("TYPE Q\r\n")), "501");
    assert_eq!(code(&t.send("MODE B\r\n")), "504");
    assert_eq!(code(&t.send("STRU R\r\n")), "504");
    assert_eq!(code(&t.send("SMNT x\r\n")), "502");
    assert_eq!(code(&t.send("CWD\r\n")), "501");
}

#[test]
fn failed_login_is_answered_after_a_timer_and_commands_wait() {
    let mut t = setup("delay", "elr", |_| {});
    t.send("USER foo\r\n");
    assert_eq!(
        t.send("PASS nope\r\nNOOP\r\n"),
        "",
        "nothing before the delay"
    );
    t.h.advance(Duration::from_millis(250));
    let out = String::from_utf8(t.h.take_output(t.c)).unwrap();
    assert_eq!(out, "530 Login incorrect.\r\n200 NOOP ok.\r\n");
}

#[test]
fn three_failed_logins_close_with_421() {
    let mut t = setup("threefail", "elr", |_| {});
    for _ in 0..3 {
        t.send("USER foo\r\nPASS x\r\n");
        t.h.advance(Duration::from_millis(250));
    }
    let out = String::from_utf8(t.h.take_output(t.c)).unwrap();
    assert!(out.ends_with("421 Too many failed logins.\r\n"), "{out}");
    assert!(!t.h.is_open(t.c));
}

#[test]
fn overlong_line_gets_500_and_the_next_command_works() {
    let mut t = setup("overlong", "elr", |_| {});
    let long = format!("USER {}\r\nNOOP\r\n", "x".repeat(10_000));
    let out = t.send(&long);
    assert_eq!(out, "500 Command line too long.\r\n200 NOOP ok.\r\n");
}

#[test]
fn telnet_iac_bytes_and_cr_without_lf_on_the_control_channel() {
    let mut t = setup("iac", "elr", |_| {});
    t.h.feed(t.c, b"\xff\xfb\x01NO\xff\xf1OP\r\n");
    assert_eq!(t.h.take_output(t.c), b"200 NOOP ok.\r\n");
    assert_eq!(t.send("NOOP\r"), "", "CR alone does not end a line");
    assert_eq!(t.send("\n"), "200 NOOP ok.\r\n");
    assert_eq!(t.send("NOOP\n"), "200 NOOP ok.\r\n", "bare LF is tolerated");
}

#[test]
fn each_permission_letter_is_enforced_with_550() {
    let mut t = setup("perms", "", |_| {});
    t.login();
    for cmd in [
        "CWD sub",
        "CDUP",
        "LIST",
        "NLST",
        "MLSD",
        "MLST a.txt",
        "SIZE a.txt",
        "MDTM a.txt",
        "RETR a.txt",
        "APPE a.txt",
        "DELE a.txt",
        "RMD sub",
        "RNFR a.txt",
        "MKD new",
        "STOR b",
        "STOU",
        "SITE CHMOD 600 a.txt",
        "MFMT 20200101000000 a.txt",
        "STAT a.txt",
    ] {
        let r = t.send(&format!("{cmd}\r\n"));
        assert!(r.starts_with("550 Permission denied"), "{cmd}: {r}");
    }
    assert!(t.root.join("a.txt").exists());
    assert!(!t.root.join("new").exists());
}

#[test]
fn traversal_attempts_stay_inside_the_root() {
    let mut t = setup("jail", "elradfmwMT", |_| {});
    t.login();
    assert_eq!(
        t.send("CWD ../../..\r\n"),
        "250 \"/\" is the current directory.\r\n"
    );
    assert_eq!(t.send("PWD\r\n"), "257 \"/\" is the current directory.\r\n");
    assert_eq!(code(&t.send("SIZE /etc/passwd\r\n")), "550");
    assert_eq!(
        code(&t.send("TYPE I\r\nSIZE ../../../../etc/passwd\r\n")[..]),
        "200"
    );
    assert_eq!(code(&t.send("MKD /../../escape\r\n")), "257");
    assert!(t.root.join("escape").is_dir(), "clamped into the root");
    std::os::unix::fs::symlink("/etc", t.root.join("etc-link")).unwrap();
    assert_eq!(code(&t.send("CWD etc-link\r\n")), "550");
    assert_eq!(code(&t.send("SIZE etc-link/passwd\r\n")), "550");
    assert_eq!(code(&t.send("STOR etc-link/x\r\n")), "550");
}

#[test]
fn port_to_a_third_party_or_privileged_port_is_refused() {
    let mut t = setup("bounce", "elr", |_| {});
    t.login();
    assert_eq!(code(&t.send("PORT 10,0,0,1,195,80\r\n")), "501");
    assert_eq!(code(&t.send("PORT 127,0,0,1,0,21\r\n")), "504");
    assert_eq!(code(&t.send("EPRT |1|192.168.1.1|5000|\r\n")), "501");
    assert_eq!(code(&t.send("EPRT |2|::2|5000|\r\n")), "501");
    assert_eq!(code(&t.send("EPRT |9|x|1|\r\n")), "522");
    assert_eq!(code(&t.send("PORT 1,2,3\r\n")), "501");
    assert_eq!(
        code(&t.send("RETR a.txt\r\n")),
        "425",
        "no channel was set up"
    );
    assert_eq!(code(&t.send("PORT 127,0,0,1,195,80\r\n")), "200");
}

#[test]
fn passive_retr_sends_then_226_after_drain() {
    let mut t = setup("retr", "elr", |_| {});
    t.login();
    let listener = t.pasv();
    let data =
        t.h.accept_child(listener, "127.0.0.1:40001".parse().unwrap())
            .unwrap();
    assert_eq!(code(&t.send("TYPE A\r\n")), "200");
    let r = t.send("RETR a.txt\r\n");
    assert!(r.starts_with("125 ") && r.contains("\r\n226 "), "{r}");
    assert_eq!(t.h.take_output(data), b"one\r\ntwo\r\n");
    assert!(!t.h.is_open(data));
}

#[test]
fn passive_accept_from_a_foreign_ip_is_refused_and_the_client_still_connects() {
    let mut t = setup("pasvforeign", "elr", |_| {});
    t.login();
    let listener = t.pasv();
    let intruder = t.h.accept_child(listener, "10.9.9.9:4000".parse().unwrap());
    assert!(intruder.is_none_or(|id| !t.h.is_open(id)));
    let data =
        t.h.accept_child(listener, "127.0.0.1:40002".parse().unwrap())
            .unwrap();
    t.send("TYPE I\r\n");
    let r = t.send("RETR a.txt\r\n");
    assert!(r.contains("226 "), "{r}");
    assert_eq!(t.h.take_output(data), b"one\ntwo\n");
}

#[test]
fn active_stor_writes_to_disk_and_replies_after_eof() {
    let mut t = setup("stor", "elrw", |_| {});
    t.login();
    assert_eq!(code(&t.send("PORT 127,0,0,1,195,80\r\n")), "200");
    t.send("TYPE I\r\n");
    assert_eq!(code(&t.send("STOR up.bin\r\n")), "150");
    let data = *t.h.children(t.c).last().unwrap();
    let target: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    assert_eq!(t.h.child_connect_addr(data), Some(target));
    t.h.complete_connect(data, true);
    t.h.feed(data, b"hello ");
    t.h.feed(data, b"world");
    assert_eq!(t.h.take_output(t.c), b"", "no 226 before the end");
    t.h.eof(data);
    assert_eq!(
        code(&String::from_utf8(t.h.take_output(t.c)).unwrap()),
        "226"
    );
    assert_eq!(
        std::fs::read(t.root.join("up.bin")).unwrap(),
        b"hello world"
    );
}

#[test]
fn refused_active_connect_gets_425() {
    let mut t = setup("refused", "elr", |_| {});
    t.login();
    t.send("PORT 127,0,0,1,195,80\r\n");
    assert_eq!(code(&t.send("LIST\r\n")), "150");
    let data = *t.h.children(t.c).last().unwrap();
    t.h.complete_connect(data, false);
    assert_eq!(
        code(&String::from_utf8(t.h.take_output(t.c)).unwrap()),
        "425"
    );
}

#[test]
fn abor_during_a_transfer_gives_426_then_226_and_queued_commands_follow() {
    let mut t = setup("abor", "elrw", |_| {});
    t.login();
    let listener = t.pasv();
    assert_eq!(code(&t.send("STOR big\r\n")), "150");
    let data =
        t.h.accept_child(listener, "127.0.0.1:40003".parse().unwrap())
            .unwrap();
    t.h.feed(data, b"partial");
    assert_eq!(t.send("PWD\r\n"), "", "PWD waits for the transfer");
    t.h.feed(t.c, b"\xff\xf4\xffABOR\r\n");
    let r = String::from_utf8(t.h.take_output(t.c)).unwrap();
    assert_eq!(
        r,
        "426 Transfer aborted.\r\n226 ABOR command successful.\r\n257 \"/\" is the current directory.\r\n"
    );
    assert!(!t.h.is_open(data));
    assert_eq!(code(&t.send("ABOR\r\n")), "225");
}

#[test]
fn rename_needs_rnfr_right_before_rnto() {
    let mut t = setup("rename", "elrf", |_| {});
    t.login();
    assert_eq!(code(&t.send("RNFR a.txt\r\n")), "350");
    assert_eq!(code(&t.send("NOOP\r\n")), "200");
    assert_eq!(code(&t.send("RNTO b.txt\r\n")), "503");
    assert_eq!(code(&t.send("RNFR a.txt\r\n")), "350");
    assert_eq!(code(&t.send("RNTO b.txt\r\n")), "250");
    assert!(t.root.join("b.txt").exists() && !t.root.join("a.txt").exists());
}

#[test]
fn rest_beyond_the_end_is_554_and_mdtm_mfmt_round_trip() {
    let mut t = setup("rest", "elrT", |_| {});
    t.login();
    t.pasv();
    assert_eq!(code(&t.send("REST 1000\r\n")), "350");
    assert_eq!(code(&t.send("RETR a.txt\r\n")), "554");
    assert_eq!(code(&t.send("REST x\r\n")), "501");
    assert_eq!(
        t.send("MFMT 20200102030405 a.txt\r\n"),
        "213 Modify=20200102030405; /a.txt\r\n"
    );
    assert_eq!(t.send("MDTM a.txt\r\n"), "213 20200102030405\r\n");
    assert_eq!(code(&t.send("MFMT 2020 a.txt\r\n")), "501");
}

#[test]
fn idle_control_connection_gets_421() {
    let mut t = setup("idle", "elr", |c| c.idle_timeout = Duration::from_secs(5));
    t.login();
    t.h.advance(Duration::from_secs(6));
    let out = String::from_utf8(t.h.take_output(t.c)).unwrap();
    assert!(out.starts_with("421 "), "{out}");
    assert!(!t.h.is_open(t.c));
}

#[test]
fn passive_listener_times_out_with_425_when_a_transfer_waits() {
    let mut t = setup("pasvto", "elr", |c| {
        c.passive_timeout = Duration::from_secs(2)
    });
    t.login();
    t.pasv();
    assert_eq!(code(&t.send("LIST\r\n")), "150");
    t.h.advance(Duration::from_secs(3));
    assert_eq!(
        code(&String::from_utf8(t.h.take_output(t.c)).unwrap()),
        "425"
    );
}

#[test]
fn per_ip_limit_answers_421() {
    let config = FtpConfig {
        max_per_ip: 1,
        ..FtpConfig::default()
    };
    let shared = Rc::new(Shared::new(config));
    let mut h = Harness::new();
    let a = h.open(FtpConn::new(shared.clone()));
    assert!(h.peek_output(a).starts_with("220 "));
    let b = h.open(FtpConn::new(shared.clone()));
    assert!(h.peek_output(b).starts_with("421 "));
    assert!(!h.is_open(b));
}

#[test]
fn feat_and_help_are_multi_line() {
    let mut t = setup("feat", "elr", |_| {});
    let feat = t.send("FEAT\r\n");
    assert!(
        feat.starts_with("211-") && feat.ends_with("211 End\r\n") && feat.contains(" EPSV\r\n")
    );
    let help = t.send("HELP\r\n");
    assert!(help.starts_with("214-") && help.ends_with("214 Help OK.\r\n"));
    assert_eq!(code(&t.send("OPTS UTF8 ON\r\n")), "200");
    assert_eq!(
        t.send("OPTS MLST type;size;\r\n"),
        "200 MLST OPTS type;size;\r\n"
    );
}

#[test]
fn ipv6_control_uses_epsv_and_eprt() {
    let dir = root("v6");
    let mut config = FtpConfig::default();
    config.users.add(User {
        name: "foo".into(),
        password: "bar".into(),
        home: dir,
        perms: "elr".parse().unwrap(),
    });
    let mut h = Harness::new();
    let c = h.open_with_addrs(
        FtpConn::new(Rc::new(Shared::new(config))),
        "[::1]:40000".parse().unwrap(),
        "[::1]:2121".parse().unwrap(),
    );
    h.feed(c, b"USER foo\r\nPASS bar\r\n");
    h.take_output(c);
    let mut send = |line: &str| {
        h.feed(c, line.as_bytes());
        String::from_utf8(h.take_output(c)).unwrap()
    };
    assert_eq!(code(&send("PASV\r\n")), "425");
    assert_eq!(code(&send("EPSV 1\r\n")), "522");
    let r = send("EPSV\r\n");
    assert!(
        r.starts_with("229 Entering Extended Passive Mode (|||"),
        "{r}"
    );
    assert_eq!(code(&send("EPRT |2|::1|50000|\r\n")), "200");
    assert_eq!(code(&send("EPRT |2|::2|50000|\r\n")), "501");
    assert_eq!(code(&send("EPSV ALL\r\n")), "200");
    assert_eq!(code(&send("PORT 127,0,0,1,195,80\r\n")), "503");
    assert_eq!(code(&send("EPRT |2|::1|50000|\r\n")), "503");
}

#[test]
fn list_lines_are_ls_style_and_mlsd_has_facts() {
    let mut t = setup("listing", "elr", |_| {});
    t.login();
    let listener = t.pasv();
    let data =
        t.h.accept_child(listener, "127.0.0.1:40004".parse().unwrap())
            .unwrap();
    assert!(t.send("LIST\r\n").contains("226 "));
    let list = String::from_utf8(t.h.take_output(data)).unwrap();
    let lines: Vec<&str> = list.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(
        lines[0].starts_with("-rw") && lines[0].ends_with(" a.txt"),
        "{list}"
    );
    assert!(
        lines[0].split_whitespace().nth(4) == Some("8"),
        "size column: {list}"
    );
    assert!(
        lines[1].starts_with('d') && lines[1].ends_with(" sub"),
        "{list}"
    );
    let listener = t.pasv();
    let data =
        t.h.accept_child(listener, "127.0.0.1:40005".parse().unwrap())
            .unwrap();
    assert!(t.send("MLSD\r\n").contains("226 "));
    let mlsd = String::from_utf8(t.h.take_output(data)).unwrap();
    assert!(
        mlsd.lines()
            .any(|l| l.starts_with("type=file;size=8;modify=")
                && l.contains(";perm=r;")
                && l.ends_with(" a.txt")),
        "{mlsd}"
    );
    let mlst = t.send("MLST sub\r\n");
    assert!(
        mlst.starts_with("250-Listing /sub\r\n type=dir;") && mlst.ends_with("250 End.\r\n"),
        "{mlst}"
    );
}
