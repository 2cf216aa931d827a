//! Whole sessions through the harness: negotiation, chat, commands, limits.

use std::time::Duration;

use netreactor::testing::Harness;
use netreactor::ConnId;

use super::conn::TelnetConn;
use super::parse::{cmd, opt};
use super::server::{shared, TelnetConfig};

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn two_users(config: TelnetConfig) -> (Harness, ConnId, ConnId) {
    let room = shared(config);
    let mut h = Harness::new();
    let a = h.open(TelnetConn::new(room.clone()));
    let b = h.open(TelnetConn::new(room));
    h.take_output(a);
    h.take_output(b);
    (h, a, b)
}

#[test]
fn the_server_offers_echo_and_sga_and_asks_for_naws_and_ttype() {
    let mut h = Harness::new();
    let c = h.open(TelnetConn::new(shared(TelnetConfig::default())));
    let out = h.take_output(c);
    for (verb, o) in [
        (cmd::WILL, opt::ECHO),
        (cmd::WILL, opt::SGA),
        (cmd::DO, opt::NAWS),
        (cmd::DO, opt::TTYPE),
    ] {
        assert!(
            out.windows(3).any(|w| w == [cmd::IAC, verb, o]),
            "missing {verb} {o}"
        );
    }
}

#[test]
fn a_client_that_agrees_settles_into_character_mode_with_naws_and_ttype() {
    let (mut h, a, b) = two_users(TelnetConfig::default());
    // DO ECHO, DO SGA, WILL NAWS, WILL TTYPE: answers to our offers, nothing to answer back
    // except the TTYPE SEND request.
    h.feed(a, &[255, 253, 1, 255, 253, 3, 255, 251, 31, 255, 251, 24]);
    let out = h.take_output(a);
    assert_eq!(
        out,
        vec![255, 250, 24, 1, 255, 240],
        "only TTYPE SEND is expected"
    );
    h.feed(a, &[255, 250, 31, 0, 120, 0, 40, 255, 240]);
    h.feed(
        a,
        &[255, 250, 24, 0, b'X', b'T', b'E', b'R', b'M', 255, 240],
    );
    // Character mode: keystrokes are echoed, backspace edits.
    h.feed(a, b"hk\x7fi");
    assert_eq!(h.take_output(a), b"hk\x08 \x08i");
    h.feed(a, b"\r\0");
    assert!(text(&h.take_output(b)).contains("<guest1> hi"));
    h.feed(b, b"/who\r\n");
    let who = text(&h.take_output(b));
    assert!(who.contains("guest1 120x40 XTERM from 127.0.0.1"), "{who}");
}

#[test]
fn a_client_that_refuses_everything_works_in_line_mode() {
    let (mut h, a, b) = two_users(TelnetConfig::default());
    h.feed(a, &[255, 254, 1, 255, 254, 3, 255, 252, 31, 255, 252, 24]);
    assert!(
        h.take_output(a).is_empty(),
        "refusals of our offers are not answered"
    );
    h.feed(a, b"plain line\r\n");
    assert!(h.take_output(a).is_empty(), "no echo in line mode");
    assert_eq!(text(&h.take_output(b)), "<guest1> plain line\r\n");
}

#[test]
fn a_client_answering_every_request_with_yes_cannot_loop() {
    let mut h = Harness::new();
    let c = h.open(TelnetConn::new(shared(TelnetConfig::default())));
    let mut total = 0;
    for _ in 0..20 {
        let out = h.take_output(c);
        total += out.len();
        // Answer every DO with WILL and every WILL with DO, as a naive client would.
        let mut reply = Vec::new();
        for w in out.windows(3).filter(|w| w[0] == cmd::IAC) {
            match w[1] {
                cmd::DO => reply.extend([cmd::IAC, cmd::WILL, w[2]]),
                cmd::WILL => reply.extend([cmd::IAC, cmd::DO, w[2]]),
                _ => {}
            }
        }
        if reply.is_empty() {
            break;
        }
        h.feed(c, &reply);
    }
    assert!(total < 400, "negotiation produced {total} bytes");
    assert!(h.take_output(c).is_empty());
}

#[test]
fn nick_who_msg_me_and_quit() {
    let (mut h, a, b) = two_users(TelnetConfig::default());
    h.feed(a, b"/nick alice\r\n");
    assert!(text(&h.take_output(a)).contains("you are now alice"));
    assert!(text(&h.take_output(b)).contains("guest1 is now alice"));
    h.feed(b, b"/nick ALICE\r\n");
    assert!(text(&h.take_output(b)).contains("nick refused: Taken"));
    h.feed(b, b"/msg alice psst\r\n");
    assert!(text(&h.take_output(a)).contains("*guest2* psst"));
    h.feed(a, b"/me waves\r\n");
    assert!(text(&h.take_output(b)).contains("* alice waves"));
    h.feed(a, b"/frobnicate\r\n");
    assert!(text(&h.take_output(a)).contains("unknown command /frobnicate"));
    h.feed(a, b"/stats\r\n");
    assert!(text(&h.take_output(a)).contains("open 2"));
    h.feed(a, b"/quit\r\n");
    assert!(text(&h.take_output(a)).contains("bye"));
    assert!(!h.is_open(a));
    assert!(text(&h.take_output(b)).contains("* alice left"));
}

#[test]
fn escape_sequences_from_one_user_reach_others_defanged() {
    let (mut h, a, b) = two_users(TelnetConfig::default());
    h.feed(a, b"\x1b[2Jgotcha\r\n");
    let got = h.take_output(b);
    assert!(!got.contains(&0x1b), "raw ESC reached another terminal");
    assert!(
        text(&got).contains("<guest1> [2Jgotcha") || text(&got).contains("^[[2Jgotcha"),
        "{}",
        text(&got)
    );
}

#[test]
fn a_half_typed_line_is_redrawn_after_an_incoming_message() {
    let (mut h, a, b) = two_users(TelnetConfig::default());
    h.feed(b, &[255, 253, 1]); // b accepts our echo: character mode
    h.feed(b, b"draft");
    h.take_output(b);
    h.feed(a, b"interrupt\r\n");
    let got = h.take_output(b);
    assert_eq!(got, b"\r\x1b[K<guest1> interrupt\r\ndraft");
}

#[test]
fn overlong_lines_are_capped_and_idle_users_are_disconnected() {
    let config = TelnetConfig {
        max_line: 10,
        idle_timeout: Duration::from_secs(60),
        ..TelnetConfig::default()
    };
    let (mut h, a, b) = two_users(config);
    h.feed(a, &[b'x'; 50]);
    h.feed(a, b"\r\n");
    assert_eq!(
        text(&h.take_output(b)),
        format!("<guest1> {}\r\n", "x".repeat(10))
    );
    h.advance(Duration::from_secs(59));
    h.feed(b, b"still here\r\n");
    h.advance(Duration::from_secs(2));
    assert!(!h.is_open(a), "idle user kept");
    assert!(h.is_open(b), "active user dropped");
    assert!(text(&h.take_output(b)).contains("guest1 left"));
}

#[test]
fn a_flooding_client_is_paused_not_buffered() {
    let config = TelnetConfig {
        rate: 100,
        burst: 100,
        ..TelnetConfig::default()
    };
    let (mut h, a, _b) = two_users(config);
    h.feed(a, &[b'y'; 150]); // passes with a full bucket, leaving it in debt
    assert!(!h.is_read_paused(a));
    h.feed(a, &[b'z'; 50]);
    assert!(h.is_read_paused(a), "over the rate, reading must pause");
    h.advance(Duration::from_secs(2));
    assert!(!h.is_read_paused(a));
}

#[test]
fn a_flood_of_short_lines_is_held_to_the_line_rate() {
    // 2,000 B/s and 8,000 B of burst for bytes, 20 lines/s: a line costs 100 bytes.
    let config = TelnetConfig {
        rate: 2000,
        burst: 8000,
        line_rate: 20,
        ..TelnetConfig::default()
    };
    let (mut h, a, b) = two_users(config);
    h.take_output(b);
    // 90 two-byte lines (180 bytes, far under the byte burst) in one delivery: they are
    // handled (the slice is 256 bytes), but leave the bucket 1,000 bytes in debt.
    h.feed(a, &b"x\r".repeat(90));
    assert_eq!(text(&h.take_output(b)).matches("> x").count(), 90);
    h.feed(a, b"y\r");
    assert!(
        h.is_read_paused(a),
        "past the line burst, reading must pause"
    );
    assert!(!text(&h.take_output(b)).contains("> y"));
    // The debt is paid back at the byte rate: 1,000 bytes / 2,000 B/s.
    h.advance(Duration::from_millis(600));
    assert!(!h.is_read_paused(a));
    assert!(
        text(&h.take_output(b)).contains("> y"),
        "the held line is not lost"
    );
}

#[test]
fn the_room_has_a_user_limit() {
    let room = shared(TelnetConfig {
        max_connections: 1,
        ..TelnetConfig::default()
    });
    let mut h = Harness::new();
    let first = h.open(TelnetConn::new(room.clone()));
    let second = h.open(TelnetConn::new(room));
    assert!(text(&h.take_output(second)).contains("server full"));
    assert!(!h.is_open(second));
    assert!(h.is_open(first));
}

fn unlimited_rate() -> TelnetConfig {
    TelnetConfig {
        rate: u32::MAX,
        burst: u32::MAX,
        line_rate: u32::MAX,
        ..TelnetConfig::default()
    }
}

#[test]
fn a_flood_to_300_members_who_never_read_keeps_every_queue_bounded() {
    let room = shared(unlimited_rate());
    let mut h = Harness::new();
    let sender = h.open(TelnetConn::new(room.clone()));
    let members: Vec<ConnId> = (0..300)
        .map(|_| {
            let m = h.open(TelnetConn::new(room.clone()));
            h.set_write_capacity(m, Some(0)); // never reads
            m
        })
        .collect();
    let line = format!("{}\r\n", "a".repeat(200));
    for _ in 0..1000 {
        h.feed(sender, line.as_bytes());
    }
    let limit = 64 * 1024 + 1024;
    for &m in &members {
        assert!(h.is_open(m));
        assert!(h.queued(m) <= limit, "{} bytes queued", h.queued(m));
    }
    assert!(h.is_open(sender));
    // One catches up: told what was missed, then the next line.
    let m = members[0];
    h.set_write_capacity(m, None);
    h.take_output(m);
    h.feed(sender, b"are you there?\r\n");
    let out = text(&h.take_output(m));
    assert!(out.contains("lines skipped"), "{out}");
    assert!(out.contains("are you there?"), "{out}");
}

#[test]
fn a_member_whose_own_output_passes_the_hard_limit_is_disconnected() {
    let room = shared(unlimited_rate());
    let mut h = Harness::new();
    let sender = h.open(TelnetConn::new(room.clone()));
    let hog = h.open(TelnetConn::new(room.clone()));
    h.set_write_capacity(hog, Some(0));
    // 21 KB of `/help` in one read: its answers pass 1 MiB part-way through.
    h.feed(hog, &b"/help\r\n".repeat(3000));
    assert!(
        !h.is_open(hog),
        "disconnected at the hard limit ({} queued)",
        h.queued(hog)
    );
    assert!(h.is_open(sender));
    // With small limits: a member who does not read misses lines but stays.
    let limits = super::chat::QueueLimits {
        skip_above: 1024,
        disconnect_above: 4096,
    };
    let strict = shared(TelnetConfig {
        queue_limits: limits,
        ..unlimited_rate()
    });
    let a = h.open(TelnetConn::new(strict.clone()));
    let b = h.open(TelnetConn::new(strict));
    h.set_write_capacity(b, Some(0));
    for _ in 0..100 {
        h.feed(a, b"flood flood flood flood flood flood flood flood\r\n");
    }
    assert!(h.queued(b) <= 1024 + 128, "{} queued", h.queued(b));
    assert!(
        h.is_open(b),
        "skipped, not disconnected: under the hard limit"
    );
}

#[test]
fn invisible_and_reordering_characters_never_reach_other_users() {
    let (mut h, a, b) = two_users(TelnetConfig::default());
    h.feed(
        a,
        "abc\u{202e}gnp.exe \u{200b}x\u{2028}y\u{feff}\r\n".as_bytes(),
    );
    let out = text(&h.take_output(b));
    assert!(out.contains("<guest1> abcgnp.exe xy\r\n"), "{out:?}");
}

#[test]
fn control_characters_reach_others_as_caret_letters() {
    let (mut h, a, b) = two_users(TelnetConfig::default());
    h.feed(a, b"red \x1b[31malert\x07\r\n");
    let out = text(&h.take_output(b));
    assert!(out.contains("<guest1> red ^[[31malert^G\r\n"), "{out:?}");
    assert!(
        !out.contains('\x1b'),
        "no raw escape reaches the other terminal"
    );
}
