use std::net::SocketAddr;

use super::*;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn done(consumed: usize, src: &str, dst: &str) -> Result<Status, Error> {
    Ok(Status::Done {
        consumed,
        source: Some(addr(src)),
        destination: Some(addr(dst)),
    })
}

fn no_addresses(consumed: usize) -> Result<Status, Error> {
    Ok(Status::Done {
        consumed,
        source: None,
        destination: None,
    })
}

/// Every strict prefix of `input` is `Incomplete` or already the error `input` gives, and a
/// header is never found before its last byte.
fn assert_split_invariant(input: &[u8]) {
    let whole = parse(input);
    let end = match whole {
        Ok(Status::Done { consumed, .. }) => consumed,
        _ => input.len(),
    };
    for k in 0..end {
        let part = parse(&input[..k]);
        match (&part, &whole) {
            (Ok(Status::Incomplete), _) => {}
            (Err(a), Err(b)) if a == b => {}
            _ => panic!("prefix {k} of {input:?}: {part:?}, whole: {whole:?}"),
        }
    }
    // Bytes after the header change nothing.
    if let Ok(Status::Done { .. }) = whole {
        let mut more = input[..end].to_vec();
        more.extend_from_slice(b"\r\nGET / HTTP/1.1\r\n\0\xff");
        assert_eq!(parse(&more), whole);
    }
}

#[test]
fn v1_tcp4_and_tcp6_give_both_addresses() {
    let line = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
    assert_eq!(
        parse(line),
        done(line.len(), "192.0.2.1:56324", "198.51.100.2:443")
    );
    let line = b"PROXY TCP6 2001:db8::1 ::ffff:192.0.2.9 0 65535\r\n";
    assert_eq!(
        parse(line),
        done(line.len(), "[2001:db8::1]:0", "[::ffff:192.0.2.9]:65535")
    );
}

#[test]
fn v1_unknown_gives_no_addresses_and_ignores_the_rest_of_its_line() {
    assert_eq!(parse(b"PROXY UNKNOWN\r\n"), no_addresses(15));
    let line = b"PROXY UNKNOWN whatever 1 2 3\r\nrest";
    assert_eq!(parse(line), no_addresses(line.len() - 4));
}

#[test]
fn v1_is_at_most_107_bytes() {
    let six = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let longest = format!("PROXY UNKNOWN {six} {six} 65535 65535\r\n");
    assert_eq!(longest.len(), V1_MAX);
    assert_eq!(parse(longest.as_bytes()), no_addresses(V1_MAX));
    let over = format!("PROXY UNKNOWN {six} {six} 65535 655350\r\n");
    assert_eq!(parse(over.as_bytes()), Err(Error::V1TooLong));
    // 107 bytes without an end of line: no need to wait for more.
    let no_end = "PROXY UNKNOWN ".to_string() + &"x".repeat(V1_MAX);
    assert_eq!(parse(&no_end.as_bytes()[..V1_MAX]), Err(Error::V1TooLong));
    assert_eq!(
        parse(&no_end.as_bytes()[..V1_MAX - 1]),
        Ok(Status::Incomplete)
    );
    let full = format!("PROXY TCP6 {six} {six} 65535 65535\r\n");
    assert!(matches!(parse(full.as_bytes()), Ok(Status::Done { .. })));
}

#[test]
fn v1_rejects_stray_line_ends_and_control_bytes() {
    for bad in [
        &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        b"PROXY TCP4 1.2.3.4\n",
        b"PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n",
        b"PROXY UNKNOWN \xff\r\n",
    ] {
        assert_eq!(parse(bad), Err(Error::V1Syntax), "{bad:?}");
        assert_split_invariant(bad);
    }
}

#[test]
fn v1_fields_are_separated_by_one_space_and_all_present() {
    for bad in [
        &b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
        b"PROXY TCP4\r\n",
    ] {
        assert_eq!(parse(bad), Err(Error::V1Syntax), "{bad:?}");
    }
    for bad in [
        &b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"[..],
        b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY \r\n",
    ] {
        assert_eq!(parse(bad), Err(Error::V1Protocol), "{bad:?}");
    }
}

#[test]
fn v1_addresses_must_match_the_protocol_in_canonical_form() {
    for bad in [
        &b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n"[..],
        b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP6 [::1] ::2 1 2\r\n",
        b"PROXY TCP6 fe80::1%eth0 ::2 1 2\r\n",
    ] {
        assert_eq!(parse(bad), Err(Error::Address), "{bad:?}");
    }
    for bad in [
        &b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 123456\r\n",
    ] {
        assert_eq!(parse(bad), Err(Error::Port), "{bad:?}");
    }
}

#[test]
fn anything_else_is_a_wrong_signature_from_the_first_differing_byte() {
    for bad in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"PROXX",
        b"proxy ",
        b"\r\n\r\n\0\r\nQUIX",
        b"\r\r",
    ] {
        assert_eq!(parse(bad), Err(Error::Signature), "{bad:?}");
        assert_split_invariant(bad);
    }
    assert_eq!(parse(b""), Ok(Status::Incomplete));
    assert_eq!(parse(b"PROX"), Ok(Status::Incomplete));
    assert_eq!(parse(&V2_SIGNATURE[..7]), Ok(Status::Incomplete));
}

fn v2(ver_cmd: u8, family: u8, block: &[u8]) -> Vec<u8> {
    let mut h = V2_SIGNATURE.to_vec();
    h.extend_from_slice(&[ver_cmd, family]);
    h.extend_from_slice(&(block.len() as u16).to_be_bytes());
    h.extend_from_slice(block);
    h
}

#[test]
fn v2_proxy_over_inet_and_inet6_gives_both_addresses() {
    let h = encode_v2(addr("192.0.2.1:56324"), addr("198.51.100.2:443"), &[]);
    assert_eq!(h.len(), 28);
    assert_eq!(parse(&h), done(28, "192.0.2.1:56324", "198.51.100.2:443"));
    let h = encode_v2(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:2"), &[]);
    assert_eq!(h.len(), 52);
    assert_eq!(parse(&h), done(52, "[2001:db8::1]:1", "[2001:db8::2]:2"));
}

#[test]
fn v2_tlvs_are_skipped_within_the_length() {
    // ALPN "h2", a NOOP of 0 bytes, an authority.
    let tlvs = [
        &[0x01, 0, 2][..],
        b"h2",
        &[0x04, 0, 0],
        &[0x02, 0, 3],
        b"a.b",
    ]
    .concat();
    let h = encode_v2(addr("10.0.0.1:1"), addr("10.0.0.2:2"), &tlvs);
    assert_eq!(parse(&h), done(h.len(), "10.0.0.1:1", "10.0.0.2:2"));
    assert_split_invariant(&h);
    // A TLV running past the block, and a truncated TLV header.
    let h = encode_v2(addr("10.0.0.1:1"), addr("10.0.0.2:2"), &[0x01, 0, 5, b'h']);
    assert_eq!(parse(&h), Err(Error::Tlv));
    let h = encode_v2(addr("10.0.0.1:1"), addr("10.0.0.2:2"), &[0x01, 0]);
    assert_eq!(parse(&h), Err(Error::Tlv));
}

#[test]
fn v2_local_unspec_and_unix_give_no_addresses() {
    assert_eq!(parse(&encode_v2_local()), no_addresses(16));
    // LOCAL discards whatever block comes with it.
    assert_eq!(parse(&v2(0x20, 0x11, &[9; 5])), no_addresses(21));
    assert_eq!(parse(&v2(0x21, 0x00, &[1, 2, 3])), no_addresses(19));
    let mut unix = vec![0u8; 216];
    unix[..9].copy_from_slice(b"/run/a.s\0");
    assert_eq!(parse(&v2(0x21, 0x31, &unix)), no_addresses(232));
    assert_eq!(parse(&v2(0x21, 0x31, &unix[..215])), Err(Error::Length));
}

#[test]
fn v2_rejects_bad_version_command_family_and_length() {
    let block = [0u8; 12];
    assert_eq!(parse(&v2(0x11, 0x11, &block)), Err(Error::Version));
    assert_eq!(parse(&v2(0x31, 0x11, &block)), Err(Error::Version));
    assert_eq!(parse(&v2(0x22, 0x11, &block)), Err(Error::Command));
    for family in [0x01, 0x10, 0x13, 0x41, 0xff] {
        assert_eq!(parse(&v2(0x21, family, &block)), Err(Error::Family));
    }
    // Datagrams are not what a stream listener is given...
    assert_eq!(parse(&v2(0x21, 0x12, &block)), Err(Error::Family));
    // ... but a LOCAL header ignores its family.
    assert_eq!(parse(&v2(0x20, 0x12, &block)), no_addresses(28));
    assert_eq!(parse(&v2(0x21, 0x11, &block[..11])), Err(Error::Length));
    assert_eq!(parse(&v2(0x21, 0x21, &[0; 35])), Err(Error::Length));
    // The length is checked as soon as it is there, before the block arrives.
    assert_eq!(parse(&v2(0x21, 0x21, &[0; 35])[..16]), Err(Error::Length));
}

#[test]
fn v2_waits_for_its_whole_block_however_long() {
    let tlv_len = u16::MAX as usize - 12 - 3;
    let tlvs = [
        &[0xe0][..],
        &(tlv_len as u16).to_be_bytes(),
        &vec![7; tlv_len],
    ]
    .concat();
    let h = encode_v2(addr("10.0.0.1:1"), addr("10.0.0.2:2"), &tlvs);
    assert_eq!(h.len(), V2_MAX);
    assert_eq!(parse(&h[..V2_MAX - 1]), Ok(Status::Incomplete));
    assert_eq!(parse(&h), done(V2_MAX, "10.0.0.1:1", "10.0.0.2:2"));
}

#[test]
fn every_split_of_every_sample_is_consistent() {
    let six = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let mut samples: Vec<Vec<u8>> = vec![
        b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n".to_vec(),
        b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n".to_vec(),
        b"PROXY UNKNOWN\r\n".to_vec(),
        format!("PROXY UNKNOWN {six} {six} 65535 65535\r\n").into_bytes(),
        format!("PROXY UNKNOWN {six} {six} 65535 655350\r\n").into_bytes(),
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX".to_vec(),
        b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n".to_vec(),
        encode_v2(addr("192.0.2.1:56324"), addr("198.51.100.2:443"), &[]),
        encode_v2(
            addr("[2001:db8::1]:1"),
            addr("[2001:db8::2]:2"),
            &[1, 0, 1, 9],
        ),
        encode_v2(addr("10.0.0.1:1"), addr("10.0.0.2:2"), &[1, 0, 9]),
        encode_v2_local(),
        v2(0x22, 0x11, &[0; 12]),
        v2(0x21, 0x13, &[0; 12]),
        v2(0x21, 0x21, &[0; 35]),
    ];
    samples.push(b"\r\n\r\n\0\r\nQUIT\n\x21".to_vec());
    for s in &samples {
        assert_split_invariant(s);
    }
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        Error::V1TooLong.to_string(),
        "PROXY v1 line longer than 107 bytes"
    );
    assert_eq!(Error::Signature.to_string(), "not a PROXY protocol header");
}

#[test]
fn v1_ipv4_reads_exactly_what_the_standard_library_reads() {
    let mut cases: Vec<String> = [
        "0.0.0.0",
        "255.255.255.255",
        "256.0.0.1",
        "1.2.3",
        "1.2.3.4.5",
        "01.2.3.4",
        "1.2.3.00",
        "1..2.3",
        ".1.2.3",
        "1.2.3.",
        "1.2.3.4 ",
        "1234.1.1.1",
        "1.2.3.a",
        "",
        "::1",
        "1.2.3.-4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every octet text of up to three characters from a small alphabet, in one position.
    let alphabet = [
        "", "0", "1", "9", "00", "09", "10", "99", "25", "255", "256", "099", "x",
    ];
    for a in alphabet {
        for b in alphabet {
            cases.push(format!("{a}.1.{b}.7"));
        }
    }
    for case in cases {
        assert_eq!(
            v1_ipv4(case.as_bytes()),
            case.parse::<std::net::Ipv4Addr>().ok(),
            "{case:?}"
        );
    }
}
