//! Unit tests of negotiation, the inflater and deflater, and the memory budget.

use super::*;

fn roundtrip(bits: u8, nct: bool) {
    let mut d = Deflater::new(bits, nct, 6);
    let mut i = Inflater::new(nct);
    for msg in [
        &b"hello hello hello hello"[..],
        b"",
        &[7u8; 100_000],
        b"hello again hello",
    ] {
        let mut c = BytesMut::new();
        assert!(d.compress(msg, &mut c));
        let mut out = BytesMut::new();
        assert!(i.inflate(&c, &mut out, 1 << 20, usize::MAX).unwrap().done);
        i.finish(&mut out, 1 << 20).unwrap();
        assert_eq!(&out[..], msg);
    }
}

#[test]
fn messages_roundtrip_for_every_window_with_and_without_context() {
    for bits in 8..=15 {
        roundtrip(bits, false);
        roundtrip(bits, true);
    }
}

#[test]
fn the_rfc_example_hello_inflates() {
    // RFC 7692 7.2.3.1.
    let mut i = Inflater::new(false);
    let mut out = BytesMut::new();
    i.inflate(
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        &mut out,
        100,
        1000,
    )
    .unwrap();
    i.finish(&mut out, 100).unwrap();
    assert_eq!(&out[..], b"Hello");
}

#[test]
fn inflating_past_the_limit_fails() {
    let mut d = Deflater::new(15, false, 6);
    let mut c = BytesMut::new();
    assert!(d.compress(&[0u8; 10_000], &mut c));
    let mut i = Inflater::new(false);
    let mut out = BytesMut::new();
    assert_eq!(
        i.inflate(&c, &mut out, 1000, usize::MAX),
        Err(InflateError::TooBig)
    );
}

#[test]
fn garbage_is_corrupt() {
    let mut i = Inflater::new(false);
    let mut out = BytesMut::new();
    assert_eq!(
        i.inflate(&[0xff; 16], &mut out, 1000, usize::MAX),
        Err(InflateError::Corrupt)
    );
}

#[test]
fn negotiation_accepts_the_first_valid_offer() {
    let c = DeflateConfig::default();
    assert_eq!(
        negotiate(["permessage-deflate; server_max_window_bits=20, permessage-deflate; server_no_context_takeover; client_max_window_bits"], &c),
        Some(DeflateParams { server_no_context_takeover: true, client_no_context_takeover: true, ..DeflateParams::default() })
    );
    let p = negotiate(
        [
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits=9",
        ],
        &c,
    )
    .unwrap();
    assert_eq!(p.server_max_window_bits, 9);
    assert_eq!(
        p.response_header(),
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=9"
    );
    assert_eq!(negotiate(["permessage-deflate; foo"], &c), None);
    assert_eq!(
        negotiate(
            ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            &c
        ),
        None
    );
    assert_eq!(
        negotiate(["permessage-deflate; server_max_window_bits"], &c),
        None
    );
    assert_eq!(
        negotiate(["permessage-deflate; client_max_window_bits=08"], &c),
        None
    );
    let off = DeflateConfig {
        enabled: false,
        ..c
    };
    assert_eq!(negotiate(["permessage-deflate"], &off), None);
}

#[test]
fn client_reads_the_server_answer() {
    assert_eq!(client_accept(""), Ok(None));
    let p = client_accept("permessage-deflate; client_max_window_bits=10")
        .unwrap()
        .unwrap();
    assert_eq!(p.client_max_window_bits, 10);
    assert!(client_accept("permessage-deflate; bogus").is_err());
    assert!(client_accept("other").is_err());
}

/// 60 MiB of zeros compress to about 61 KB: the deflate bomb of the isolation tests.
fn bomb(len: usize) -> BytesMut {
    let mut d = Deflater::new(15, false, 9);
    let mut c = BytesMut::new();
    assert!(d.compress(&vec![0u8; len], &mut c));
    c
}

#[test]
fn a_deflate_bomb_is_refused_without_holding_more_than_the_limit() {
    let c = bomb(60 << 20);
    assert!(c.len() < 80_000, "{} compressed bytes", c.len());
    let limit = 16 << 20;
    let mut i = Inflater::new(false);
    let mut out = BytesMut::new();
    assert_eq!(
        i.inflate(&c, &mut out, limit, usize::MAX),
        Err(InflateError::TooBig)
    );
    assert!(out.len() <= limit + 1, "{} bytes inflated", out.len());
    assert!(
        out.capacity() <= limit + 1,
        "{} bytes reserved",
        out.capacity()
    );
}

#[test]
fn inflate_stops_at_its_output_budget_and_resumes_from_the_unconsumed_input() {
    let c = bomb(4 << 20);
    let mut i = Inflater::new(false);
    let mut out = BytesMut::new();
    let mut input = &c[..];
    let mut calls = 0;
    loop {
        calls += 1;
        let before = out.len();
        let p = i.inflate(input, &mut out, 64 << 20, 256 * 1024).unwrap();
        assert!(
            out.len() - before <= 256 * 1024,
            "one slice made {}",
            out.len() - before
        );
        input = &input[p.consumed..];
        if p.done {
            break;
        }
    }
    i.finish(&mut out, 64 << 20).unwrap();
    assert_eq!(out.len(), 4 << 20);
    assert!(out.iter().all(|&b| b == 0));
    assert!(calls >= 16, "{calls} slices");
}

#[test]
fn state_is_allocated_at_the_first_message_and_counted_until_released() {
    let base = memory_in_use();
    let mut d = Deflater::new(15, false, 1);
    let mut i = Inflater::new(true);
    assert!(!d.is_allocated() && !i.is_allocated());
    assert_eq!(memory_in_use(), base);
    let mut c = BytesMut::new();
    assert!(d.compress(b"hello hello", &mut c));
    let mut out = BytesMut::new();
    i.inflate(&c, &mut out, 1000, 1000).unwrap();
    i.finish(&mut out, 1000).unwrap();
    assert_eq!(&out[..], b"hello hello");
    assert_eq!(memory_in_use(), base + deflate_cost(15) + INFLATE_COST);
    assert!(i.release());
    d.release();
    assert_eq!(memory_in_use(), base);
    // A context-keeping inflater cannot give its window back.
    let mut keep = Inflater::new(false);
    keep.inflate(&c, &mut BytesMut::new(), 1000, 1000).unwrap();
    assert!(!keep.release());
    drop(keep);
    assert_eq!(memory_in_use(), base);
}

#[test]
fn a_released_deflater_still_produces_messages_a_context_keeping_peer_reads() {
    let mut d = Deflater::new(15, false, 6);
    let mut i = Inflater::new(false);
    for round in 0..3 {
        for msg in [&b"the same words again and again"[..], b"the same words"] {
            let mut c = BytesMut::new();
            assert!(d.compress(msg, &mut c));
            let mut out = BytesMut::new();
            i.inflate(&c, &mut out, 1000, 1000).unwrap();
            i.finish(&mut out, 1000).unwrap();
            assert_eq!(&out[..], msg, "round {round}");
        }
        d.release();
    }
}

#[test]
fn over_the_memory_limit_the_deflater_declines_and_offers_are_declined() {
    let mut d = Deflater::new(15, false, 1).with_memory_limit(memory_in_use());
    let mut c = BytesMut::new();
    assert!(!d.compress(b"hello", &mut c));
    assert!(c.is_empty() && !d.is_allocated());
    let full = DeflateConfig {
        memory_limit: memory_in_use(),
        ..DeflateConfig::default()
    };
    assert_eq!(negotiate(["permessage-deflate"], &full), None);
    assert!(negotiate(["permessage-deflate"], &DeflateConfig::default()).is_some());
}

#[test]
fn an_offered_server_max_window_bits_is_echoed_with_the_same_or_a_smaller_value() {
    let c = DeflateConfig::default();
    for bits in 8..=15u8 {
        let offer = format!("permessage-deflate; server_max_window_bits={bits}");
        let p = negotiate([offer.as_str()], &c).unwrap();
        let answer = p.response_header();
        let echoed: u8 = answer
            .split(';')
            .find_map(|p| p.trim().strip_prefix("server_max_window_bits="))
            .unwrap_or_else(|| panic!("{offer} answered {answer}"))
            .parse()
            .unwrap();
        assert!(echoed <= bits, "{offer} answered {answer}");
    }
    let small = DeflateConfig {
        server_max_window_bits: 10,
        ..c
    };
    let p = negotiate(["permessage-deflate; server_max_window_bits=15"], &small).unwrap();
    assert!(p.response_header().contains("server_max_window_bits=10"));
    // Not offered: not answered (the default window needs no parameter).
    let p = negotiate(["permessage-deflate"], &c).unwrap();
    assert!(!p.response_header().contains("server_max_window_bits"));
}
