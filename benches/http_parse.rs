//! HTTP request-head parsing: netreactor's parser vs `httparse`, same inputs, one criterion
//! group per input (the ratio within a group is the figure).
//!
//! Not quite like for like: httparse only tokenizes, while netreactor's parser also checks
//! the method against the known set, the version, every header name's token characters,
//! Content-Length/Transfer-Encoding framing (RFC 9112 smuggling rules), Host presence, and
//! `Connection`/`Expect` semantics. Run: `cargo bench --bench http_parse`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use netreactor_protocols::http::{parse_request_head, ServerConfig};

const SMALL_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

const BROWSER_GET: &[u8] = b"GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n\
Host: www.kittyhell.com\r\n\
User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; ja-JP-mac; rv:1.9.2.3) Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 115\r\n\
Connection: keep-alive\r\n\
Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; __utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; __utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/|utmcmd=referral\r\n\
Referer: http://www.kittyhell.com/\r\n\r\n";

fn forty_headers() -> Vec<u8> {
    let mut req =
        b"POST /api/v1/items?page=2 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 0\r\n"
            .to_vec();
    for i in 0..38 {
        req.extend_from_slice(
            format!("X-Custom-Header-{i:02}: value-{i}-abcdefghijklmnopqrstuvwxyz\r\n").as_bytes(),
        );
    }
    req.extend_from_slice(b"\r\n");
    req
}

fn group(c: &mut Criterion, name: &str, input: &[u8]) {
    let config = ServerConfig::default();
    let mut ranges = Vec::with_capacity(64);
    // Both parsers must accept the whole head.
    assert_eq!(
        parse_request_head(input, &config, &mut ranges),
        Ok(Some(input.len()))
    );
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("netreactor", |b| {
        b.iter(|| parse_request_head(black_box(input), &config, &mut ranges))
    });
    g.bench_function("httparse", |b| {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        b.iter(|| {
            let mut req = httparse::Request::new(&mut headers);
            let status = req.parse(black_box(input)).unwrap();
            assert!(status.is_complete());
            status.unwrap()
        })
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    group(c, "http_parse_small_get", SMALL_GET);
    group(c, "http_parse_browser_get", BROWSER_GET);
    group(c, "http_parse_40_headers", &forty_headers());
}

criterion_group!(benches, parse);
criterion_main!(benches);
