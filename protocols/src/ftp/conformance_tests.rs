//! RFC conformance found by other servers' test suites (pyftpdlib's functional tests):
//! STOU's `FILE:` reply, FEAT after `OPTS MLST`, argument syntax, resumed uploads, and IPv4
//! clients of a dual-stack listener. Sans-IO, through the harness.

use std::rc::Rc;

use netreactor::testing::Harness;

use super::config::{FtpConfig, Shared};
use super::session_tests::{code, root, setup};
use super::{FtpConn, User};

#[test]
fn stou_answers_150_file_with_the_name_it_chose() {
    let mut t = setup("stou", "elradfmwMT", |_| {});
    t.login();
    let listener = t.pasv();
    let r = t.send("STOU\r\n");
    assert_eq!(r, "150 FILE: ftp.0\r\n");
    let data =
        t.h.accept_child(listener, "127.0.0.1:40200".parse().unwrap())
            .unwrap();
    t.h.feed(data, b"unique");
    t.h.eof(data);
    let done = String::from_utf8(t.h.take_output(t.c)).unwrap();
    assert!(done.starts_with("226 "), "{done}");
    assert_eq!(std::fs::read(t.root.join("ftp.0")).unwrap(), b"unique");
    // The next one gets another name; an already open connection gives 125 with the name.
    let listener = t.pasv();
    t.h.accept_child(listener, "127.0.0.1:40201".parse().unwrap())
        .unwrap();
    assert_eq!(t.send("STOU a.txt\r\n"), "125 FILE: a.txt.1\r\n");
}

#[test]
fn feat_marks_only_the_facts_selected_with_opts_mlst() {
    let mut t = setup("featmlst", "elr", |_| {});
    let mlst = |feat: &str| {
        feat.lines()
            .find(|l| l.starts_with(" MLST "))
            .unwrap()
            .to_string()
    };
    let before = mlst(&t.send("FEAT\r\n"));
    assert_eq!(before, " MLST type*;size*;modify*;perm*;unique*;unix.mode;");
    assert_eq!(
        t.send("OPTS MLST type;size;\r\n"),
        "200 MLST OPTS type;size;\r\n"
    );
    let after = mlst(&t.send("FEAT\r\n"));
    assert_eq!(after, " MLST type*;size*;modify;perm;unique;unix.mode;");
    assert_eq!(code(&t.send("OPTS MLST bad_fact\r\n")), "501");
    assert_eq!(code(&t.send("OPTS MLST type;size\r\n")), "501");
    assert_eq!(
        mlst(&t.send("FEAT\r\n")),
        after,
        "a refused OPTS changes nothing"
    );
    assert_eq!(t.send("OPTS MLST\r\n"), "200 MLST OPTS \r\n");
}

#[test]
fn commands_without_arguments_refuse_one_with_501() {
    let mut t = setup("noarg", "elradfmwMT", |_| {});
    for cmd in ["FEAT x", "NOOP x", "SYST x", "QUIT x"] {
        assert_eq!(code(&t.send(&format!("{cmd}\r\n"))), "501", "{cmd}");
    }
    t.login();
    for cmd in [
        "ABOR x",
        "CDUP x",
        "XCUP x",
        "PWD x",
        "XPWD x",
        "PASV x",
        "REIN x",
        "ALLO",
        "ALLO x",
        "ALLO 10 Q 5",
    ] {
        assert_eq!(code(&t.send(&format!("{cmd}\r\n"))), "501", "{cmd}");
    }
    assert!(t.h.is_open(t.c), "QUIT x did not quit");
    assert_eq!(code(&t.send("ALLO 100\r\n")), "202");
    assert_eq!(code(&t.send("ALLO 100 R 10\r\n")), "202");
    assert_eq!(code(&t.send("PWD\r\n")), "257");
    assert_eq!(
        code(&t.send("NOOP \r\n")),
        "200",
        "a trailing space is no argument"
    );
    // A refused command still ends an RNFR sequence.
    assert_eq!(code(&t.send("RNFR a.txt\r\n")), "350");
    assert_eq!(code(&t.send("PWD x\r\n")), "501");
    assert_eq!(code(&t.send("RNTO b.txt\r\n")), "503");
}

#[test]
fn rest_then_stor_resumes_the_upload_keeping_the_rest_of_the_file() {
    let mut t = setup("resume", "elradfmwMT", |_| {});
    t.login();
    t.send("TYPE I\r\n");
    assert_eq!(code(&t.send("REST 3\r\n")), "350");
    let listener = t.pasv();
    assert_eq!(code(&t.send("STOR a.txt\r\n")), "150");
    let data =
        t.h.accept_child(listener, "127.0.0.1:40202".parse().unwrap())
            .unwrap();
    t.h.feed(data, b"XY");
    t.h.eof(data);
    assert_eq!(
        code(&String::from_utf8(t.h.take_output(t.c)).unwrap()),
        "226"
    );
    assert_eq!(std::fs::read(t.root.join("a.txt")).unwrap(), b"oneXYwo\n");
    // Beyond the end: 554, file untouched.
    t.send("REST 100\r\n");
    t.pasv();
    assert_eq!(code(&t.send("STOR a.txt\r\n")), "554");
    assert_eq!(std::fs::read(t.root.join("a.txt")).unwrap(), b"oneXYwo\n");
}

#[test]
fn rest_then_appe_or_stou_is_refused_with_450_and_the_offset_is_dropped() {
    let mut t = setup("restappe", "elradfmwMT", |_| {});
    t.login();
    for cmd in ["APPE a.txt", "STOU"] {
        t.send("REST 4\r\n");
        t.pasv();
        let r = t.send(&format!("{cmd}\r\n"));
        assert_eq!(
            r,
            format!("450 Can't {} while REST request is pending.\r\n", &cmd[..4])
        );
    }
    // The offset does not leak into the next transfer.
    t.send("TYPE I\r\n");
    let listener = t.pasv();
    let data =
        t.h.accept_child(listener, "127.0.0.1:40203".parse().unwrap())
            .unwrap();
    assert!(t.send("RETR a.txt\r\n").contains("226 "));
    assert_eq!(t.h.take_output(data), b"one\ntwo\n");
}

#[test]
fn an_ipv4_client_of_a_dual_stack_listener_gets_pasv_on_its_ipv4_address() {
    let dir = root("dualstack");
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
        "[::ffff:127.0.0.1]:40000".parse().unwrap(),
        "[::ffff:127.0.0.1]:2121".parse().unwrap(),
    );
    h.feed(c, b"USER foo\r\nPASS bar\r\n");
    h.take_output(c);
    h.feed(c, b"PASV\r\n");
    let r = String::from_utf8(h.take_output(c)).unwrap();
    assert!(
        r.starts_with("227 Entering Passive Mode (127,0,0,1,"),
        "{r}"
    );
    let listener = *h.children(c).last().unwrap();
    let bound = h.child_listen_addr(listener).unwrap();
    assert_eq!(bound.ip().to_string(), "127.0.0.1");
    h.feed(c, b"EPSV 1\r\n");
    let r = String::from_utf8(h.take_output(c)).unwrap();
    assert_eq!(code(&r), "229", "{r}");
}
