//! The PROXY protocol header parser (`netreactor::proxy_header::parse`) side by side with the
//! `ppp` crate on the same headers: v1 lines (TCP4, TCP6) and v2 blocks (TCP4, TCP6 with
//! TLVs as HAProxy sends them), each followed by the start of a request as on a connection.
//! Run: `cargo bench --bench proxy_header`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use netreactor::proxy_header::{encode_v2, parse, Status};

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let v6 = |s: &str| s.parse().unwrap();
    // An ALPN and a unique-id TLV (what `send-proxy-v2` with `proxy-v2-options` adds).
    let tlvs = [&[0x01, 0, 8][..], b"http/1.1", &[0x05, 0, 16], &[7; 16]].concat();
    let mut all = vec![
        (
            "v1_tcp4",
            b"PROXY TCP4 192.0.2.123 198.51.100.2 56324 443\r\n".to_vec(),
        ),
        (
            "v1_tcp6",
            b"PROXY TCP6 2001:db8:85a3::8a2e:370:7334 2001:db8::2 56324 443\r\n".to_vec(),
        ),
        (
            "v2_tcp4",
            encode_v2(v6("192.0.2.123:56324"), v6("198.51.100.2:443"), &[]),
        ),
        (
            "v2_tcp6_tlvs",
            encode_v2(
                v6("[2001:db8:85a3::8a2e:370:7334]:56324"),
                v6("[2001:db8::2]:443"),
                &tlvs,
            ),
        ),
    ];
    for (_, bytes) in &mut all {
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    }
    all
}

fn headers(c: &mut Criterion) {
    for (name, input) in inputs() {
        let mut g = c.benchmark_group(format!("proxy_header_{name}"));
        g.throughput(Throughput::Elements(1));
        // Both parsers must agree on the header before they are timed.
        let ours = match parse(&input) {
            Ok(Status::Done { consumed, .. }) => consumed,
            other => panic!("{name}: {other:?}"),
        };
        let theirs = if name.starts_with("v1") {
            ppp::v1::Header::try_from(&input[..])
                .expect("ppp v1")
                .header
                .len()
        } else {
            ppp::v2::Header::try_from(&input[..]).expect("ppp v2").len()
        };
        assert_eq!(ours, theirs, "{name}: header lengths differ");
        g.bench_function("netreactor", |b| {
            b.iter(|| match parse(black_box(&input)) {
                Ok(Status::Done {
                    consumed, source, ..
                }) => (consumed, source),
                _ => unreachable!(),
            })
        });
        if name.starts_with("v1") {
            g.bench_function("ppp", |b| {
                b.iter(|| {
                    let h = ppp::v1::Header::try_from(black_box(&input[..])).unwrap();
                    (h.header.len(), h.addresses)
                })
            });
        } else {
            g.bench_function("ppp", |b| {
                b.iter(|| {
                    let h = ppp::v2::Header::try_from(black_box(&input[..])).unwrap();
                    (h.len(), h.addresses)
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, headers);
criterion_main!(benches);
