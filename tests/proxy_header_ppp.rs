//! `netreactor::proxy_header` against the `ppp` crate: on every seed of the fuzz corpus and
//! on hand-picked headers, whatever both accept they read alike (length and addresses); and
//! the inputs that show why the core has its own parser: `ppp` accepts a `+` before a v1
//! port, a datagram family on a `PROXY` command and TLVs that overrun the block (it checks
//! TLVs only when they are iterated), which a server reading stream connections must refuse.

use std::net::SocketAddr;

use netreactor::proxy_header::{encode_v2, parse, Status};
use ppp::HeaderResult;

/// What `ppp` made of `input`: the header's length and its source and destination, or
/// `None` when it refused it or wants more bytes.
fn ppp_reads(input: &[u8]) -> Option<(usize, Option<(SocketAddr, SocketAddr)>)> {
    let sock = |ip: std::net::IpAddr, port| SocketAddr::new(ip, port);
    match HeaderResult::parse(input) {
        HeaderResult::V1(Ok(h)) => {
            let addrs = match h.addresses {
                ppp::v1::Addresses::Tcp4(a) => Some((
                    sock(a.source_address.into(), a.source_port),
                    sock(a.destination_address.into(), a.destination_port),
                )),
                ppp::v1::Addresses::Tcp6(a) => Some((
                    sock(a.source_address.into(), a.source_port),
                    sock(a.destination_address.into(), a.destination_port),
                )),
                ppp::v1::Addresses::Unknown => None,
            };
            Some((h.header.len(), addrs))
        }
        HeaderResult::V2(Ok(h)) => {
            let local = h.command == ppp::v2::Command::Local;
            let addrs = match h.addresses {
                ppp::v2::Addresses::IPv4(a) if !local => Some((
                    sock(a.source_address.into(), a.source_port),
                    sock(a.destination_address.into(), a.destination_port),
                )),
                ppp::v2::Addresses::IPv6(a) if !local => Some((
                    sock(a.source_address.into(), a.source_port),
                    sock(a.destination_address.into(), a.destination_port),
                )),
                _ => None,
            };
            Some((h.len(), addrs))
        }
        _ => None,
    }
}

fn ours(input: &[u8]) -> Option<(usize, Option<(SocketAddr, SocketAddr)>)> {
    match parse(input) {
        Ok(Status::Done {
            consumed,
            source,
            destination,
        }) => Some((consumed, source.zip(destination))),
        _ => None,
    }
}

#[test]
fn what_both_accept_they_read_alike() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/proxy_header");
    let mut both = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        if let (Some(a), Some(b)) = (ours(&input), ppp_reads(&input)) {
            assert_eq!(a, b, "{:?}", String::from_utf8_lossy(&input));
            both += 1;
        }
    }
    assert!(both >= 8, "only {both} seeds accepted by both");
}

#[test]
fn ppp_accepts_what_a_stream_server_must_refuse() {
    let (src, dst) = ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
    let mut udp = encode_v2(src, dst, &[]);
    udp[13] = 0x12;
    let cases: [&[u8]; 3] = [
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n",
        &udp,
        &encode_v2(src, dst, &[0x01, 0, 5, b'h']),
    ];
    for input in cases {
        assert!(ppp_reads(input).is_some(), "ppp now refuses {input:?}");
        assert!(parse(input).is_err(), "accepted {input:?}");
    }
}
