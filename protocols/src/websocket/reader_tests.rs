//! Sans-IO tests of the frame [`Reader`](super::parse::Reader): every rule, at every split
//! point of the input.

use bytes::{Bytes, BytesMut};

use super::deflate::{Deflater, Inflater};
use super::encode::put_header;
use super::mask::apply_mask;
use super::parse::{
    parse_header, CloseFrame, Limits, Message, Opcode, ProtocolError, Reader, Role,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a client sends it (masked), with raw control over every header field.
fn cframe(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    let opcode = Opcode::from_u8(first & 0x0f).unwrap_or(Opcode::Binary);
    put_header(
        &mut out,
        first & 0x80 != 0,
        false,
        opcode,
        payload.len() as u64,
        Some(KEY),
    );
    out[0] = first;
    let at = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[at..], KEY, 0);
    out.to_vec()
}

/// Runs `wire` through a server reader split into two reads at every offset (and in one-byte
/// reads), returning the messages and the first error; asserts every split agrees.
fn read_all_splits(
    wire: &[u8],
    setup: impl Fn(&mut Reader),
) -> (Vec<Message>, Option<ProtocolError>) {
    read_all_splits_as(Role::Server, wire, setup)
}

/// [`read_all_splits`] for either role.
fn read_all_splits_as(
    role: Role,
    wire: &[u8],
    setup: impl Fn(&mut Reader),
) -> (Vec<Message>, Option<ProtocolError>) {
    let run = |cuts: &[usize]| {
        let mut r = Reader::new(
            role,
            Limits {
                max_frame: 1 << 20,
                max_message: 1 << 20,
                ..Limits::default()
            },
        );
        setup(&mut r);
        let mut input = BytesMut::new();
        let mut msgs = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&wire.len())) {
            input.extend_from_slice(&wire[last..cut]);
            last = cut;
            loop {
                match r.read(&mut input) {
                    Ok(Some(m)) => msgs.push(m),
                    Ok(None) => break,
                    Err(e) => return (msgs, Some(e)),
                }
            }
        }
        (msgs, None)
    };
    let whole = run(&[]);
    for i in 0..=wire.len() {
        assert_eq!(run(&[i]), whole, "split at {i}");
    }
    let bytewise: Vec<usize> = (1..wire.len()).collect();
    assert_eq!(run(&bytewise), whole, "one byte at a time");
    whole
}

fn plain(wire: &[u8]) -> (Vec<Message>, Option<ProtocolError>) {
    read_all_splits(wire, |_| {})
}

#[test]
fn header_lengths_7_16_and_64_bit() {
    for len in [0usize, 125, 126, 65535, 65536] {
        let f = cframe(0x82, &vec![1u8; len]);
        let h = parse_header(&f).unwrap().unwrap();
        assert_eq!(h.payload_len, len as u64);
        assert_eq!(h.mask, Some(KEY));
    }
    assert_eq!(parse_header(&[0x82]).unwrap(), None);
    assert_eq!(parse_header(&[0x82, 0xfe, 0x01]).unwrap(), None);
}

#[test]
fn non_minimal_and_oversized_lengths_are_rejected() {
    assert_eq!(
        parse_header(&[0x82, 0x7e, 0x00, 0x10]),
        Err(ProtocolError::BadLength)
    );
    assert_eq!(
        parse_header(&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
        Err(ProtocolError::BadLength)
    );
    assert_eq!(
        parse_header(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 1, 0, 0]),
        Err(ProtocolError::BadLength)
    );
}

#[test]
fn a_masked_text_frame_is_one_message() {
    let (m, e) = plain(&cframe(0x81, b"Hello"));
    assert_eq!(m, vec![Message::Text(Bytes::from_static(b"Hello"))]);
    assert_eq!(e, None);
}

#[test]
fn fragments_join_with_control_frames_between_them() {
    let mut wire = cframe(0x01, "κό".as_bytes());
    wire.extend(cframe(0x89, b"ping"));
    wire.extend(cframe(0x00, "σμ".as_bytes()));
    wire.extend(cframe(0x8A, b""));
    wire.extend(cframe(0x80, "ε".as_bytes()));
    wire.extend(cframe(0x82, &[1, 2, 3]));
    let (m, e) = plain(&wire);
    assert_eq!(e, None);
    assert_eq!(
        m,
        vec![
            Message::Ping(Bytes::from_static(b"ping")),
            Message::Pong(Bytes::new()),
            Message::Text(Bytes::from("κόσμε")),
            Message::Binary(Bytes::from_static(&[1, 2, 3])),
        ]
    );
}

#[test]
fn a_utf8_sequence_split_across_fragments_is_valid() {
    let s = "\u{1F600}".as_bytes();
    let mut wire = cframe(0x01, &s[..1]);
    wire.extend(cframe(0x00, &s[1..3]));
    wire.extend(cframe(0x80, &s[3..]));
    assert_eq!(
        plain(&wire),
        (vec![Message::Text(Bytes::from("\u{1F600}"))], None)
    );
}

#[test]
fn every_rejection_maps_to_its_close_code() {
    let cases: Vec<(Vec<u8>, ProtocolError, u16)> = vec![
        (cframe(0x83, b""), ProtocolError::BadOpcode(3), 1002),
        (cframe(0x8B, b""), ProtocolError::BadOpcode(0xB), 1002),
        (cframe(0xC1, b"x"), ProtocolError::ReservedBits, 1002),
        (cframe(0xA1, b"x"), ProtocolError::ReservedBits, 1002),
        (cframe(0x91, b"x"), ProtocolError::ReservedBits, 1002),
        (
            cframe(0x89, &[0u8; 126]),
            ProtocolError::ControlTooLong,
            1002,
        ),
        (cframe(0x09, b""), ProtocolError::ControlFragmented, 1002),
        (
            cframe(0x80, b"x"),
            ProtocolError::UnexpectedContinuation,
            1002,
        ),
        (
            [cframe(0x01, b"a"), cframe(0x81, b"b")].concat(),
            ProtocolError::ExpectedContinuation,
            1002,
        ),
        (
            cframe(0x81, b"\xce\xba\xff"),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            cframe(0x81, b"ab\xe2\x82"),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            [cframe(0x01, b"\xce"), cframe(0x80, b"a")].concat(),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (cframe(0x88, &[0x03]), ProtocolError::BadClosePayload, 1002),
        (
            cframe(0x88, &[0x03, 0xed]),
            ProtocolError::BadCloseCode(1005),
            1002,
        ),
        (
            cframe(0x88, &[0x03, 0xe7]),
            ProtocolError::BadCloseCode(999),
            1002,
        ),
        (
            cframe(0x88, &[0x0b, 0xb7]),
            ProtocolError::BadCloseCode(2999),
            1002,
        ),
        (
            cframe(0x88, &[0x03, 0xe8, 0xff]),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            cframe(0x82, &vec![0u8; (1 << 20) + 1])[..14].to_vec(),
            ProtocolError::TooBig,
            1009,
        ),
    ];
    for (wire, err, code) in cases {
        let (_, e) = plain(&wire);
        assert_eq!(e, Some(err), "{:x?}", &wire[..wire.len().min(16)]);
        assert_eq!(err.close_code(), code);
    }
}

#[test]
fn an_unmasked_client_frame_is_rejected_by_a_server() {
    let unmasked = [0x81u8, 0x05, b'h', b'e', b'l', b'l', b'o'];
    assert_eq!(
        read_all_splits(&unmasked, |_| {}),
        (vec![], Some(ProtocolError::UnmaskedFrame))
    );
}

#[test]
fn a_masked_server_frame_is_rejected_by_a_client() {
    let masked = cframe(0x81, b"hello");
    assert_eq!(
        read_all_splits_as(Role::Client, &masked, |_| {}),
        (vec![], Some(ProtocolError::MaskedFrame))
    );
    let mut wire = vec![
        0x81u8, 0x01, b'a', 0x01, 0x02, b'b', b'c', 0x80, 0x00, 0x8a, 0x00,
    ];
    wire.extend(cframe(0x82, b"x"));
    let (m, e) = read_all_splits_as(Role::Client, &wire, |_| {});
    assert_eq!(
        m,
        vec![
            Message::Text(Bytes::from_static(b"a")),
            Message::Text(Bytes::from_static(b"bc")),
            Message::Pong(Bytes::new())
        ]
    );
    assert_eq!(e, Some(ProtocolError::MaskedFrame));
}

#[test]
fn invalid_utf8_fails_before_the_rest_of_its_frame_arrives() {
    let payload = [&b"hello "[..], b"\xf4\x90\x80\x80", &[b'x'; 50]].concat();
    let wire = cframe(0x81, &payload);
    let mut r = Reader::new(Role::Server, Limits::default());
    let mut input = BytesMut::from(&wire[..6 + 6]);
    assert_eq!(r.read(&mut input), Ok(None));
    input.extend_from_slice(&wire[12..14]);
    assert_eq!(r.read(&mut input), Err(ProtocolError::InvalidUtf8));
}

#[test]
fn a_message_over_the_limit_fails_at_its_header() {
    let mut r = Reader::new(
        Role::Server,
        Limits {
            max_frame: 1 << 20,
            max_message: 100,
            ..Limits::default()
        },
    );
    let wire = cframe(0x81, &[b'a'; 101]);
    let mut input = BytesMut::from(&wire[..8]);
    assert_eq!(r.read(&mut input), Err(ProtocolError::TooBig));
    // Fragments count towards the message.
    let mut r = Reader::new(
        Role::Server,
        Limits {
            max_frame: 1 << 20,
            max_message: 100,
            ..Limits::default()
        },
    );
    let mut input =
        BytesMut::from(&[cframe(0x01, &[b'a'; 60]), cframe(0x80, &[b'a'; 60])].concat()[..]);
    assert_eq!(r.read(&mut input), Err(ProtocolError::TooBig));
}

#[test]
fn large_frames_leave_the_input_as_they_arrive() {
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let wire = cframe(0x82, &payload);
    let mut r = Reader::new(Role::Server, Limits::default());
    let mut input = BytesMut::new();
    let mut got = None;
    for chunk in wire.chunks(100_000) {
        input.extend_from_slice(chunk);
        if let Some(m) = r.read(&mut input).unwrap() {
            got = Some(m);
        }
        assert!(
            input.len() < super::parse::STREAM_CHUNK,
            "input holds {}",
            input.len()
        );
    }
    assert_eq!(got, Some(Message::Binary(Bytes::from(payload))));
}

#[test]
fn close_frames_parse_code_and_reason() {
    let (m, e) = plain(&cframe(0x88, &[0x03, 0xe8, b'o', b'k']));
    assert_eq!(e, None);
    assert_eq!(
        m,
        vec![Message::Close(Some(CloseFrame {
            code: 1000,
            reason: Bytes::from_static(b"ok")
        }))]
    );
    assert_eq!(plain(&cframe(0x88, b"")).0, vec![Message::Close(None)]);
}

#[test]
fn compressed_messages_inflate_only_when_negotiated() {
    let mut d = Deflater::new(15, false, 6);
    let mut c1 = BytesMut::new();
    assert!(d.compress(b"Hello Hello Hello", &mut c1));
    let mut c2 = BytesMut::new();
    assert!(d.compress(b"Hello again", &mut c2));
    let mut wire = cframe(0xC1, &c1);
    // The second message fragmented: RSV1 on the first fragment only.
    let (a, b) = c2.split_at(3);
    wire.extend(cframe(0x41, a));
    wire.extend(cframe(0x80, b));
    let (m, e) = read_all_splits(&wire, |r| r.set_inflater(Inflater::new(false)));
    assert_eq!(e, None);
    assert_eq!(
        m,
        vec![
            Message::Text(Bytes::from_static(b"Hello Hello Hello")),
            Message::Text(Bytes::from_static(b"Hello again"))
        ]
    );
    // Without negotiation RSV1 is a protocol error; on a continuation frame it always is.
    assert_eq!(
        plain(&cframe(0xC1, &c1)).1,
        Some(ProtocolError::ReservedBits)
    );
    let (a1, b1) = c1.split_at(3);
    let bad = [cframe(0x41, a1), cframe(0xC0, b1)].concat();
    assert_eq!(
        read_all_splits(&bad, |r| r.set_inflater(Inflater::new(false))).1,
        Some(ProtocolError::ReservedBits)
    );
    assert_eq!(
        read_all_splits(&cframe(0xC9, b""), |r| r.set_inflater(Inflater::new(false))).1,
        Some(ProtocolError::ReservedBits)
    );
}

#[test]
fn a_compression_bomb_stops_at_the_message_limit() {
    let mut d = Deflater::new(15, false, 9);
    let mut c = BytesMut::new();
    assert!(d.compress(&vec![0u8; 4 << 20], &mut c));
    let wire = cframe(0xC2, &c);
    let mut r = Reader::new(
        Role::Server,
        Limits {
            max_frame: 1 << 20,
            max_message: 1 << 20,
            ..Limits::default()
        },
    );
    r.set_inflater(Inflater::new(false));
    let mut input = BytesMut::from(&wire[..]);
    assert_eq!(r.read(&mut input), Err(ProtocolError::TooBig));
}
