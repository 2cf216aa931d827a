//! Fuzz entry points of the http protocol (shared by `fuzz/` and the corpus-replay test).

/// `(target name, entry point)` for every http fuzz target.
pub const TARGETS: &[crate::FuzzTarget] = &[
    ("http_conn", http_conn),
    ("http_wire", http_wire),
    ("http_url", http_url),
    ("http_head_diff", http_head_diff),
];

/// The whole connection state machine through `netreactor::testing::Harness`: the first
/// bytes choose read sizes, clock jumps and a slow reader; the rest is fed as the client's
/// bytes, split accordingly. Panics only if the connection's code panicked or a file from
/// outside the served root came out.
pub fn http_conn(data: &[u8]) {
    use std::time::Duration;

    use bytes::Bytes;
    use netreactor::testing::Harness;
    use netreactor::CloseReason;

    use super::{Request, Response, Router, Server, ServerConfig};

    if data.len() < 4 {
        return;
    }
    let (ctl, input) = data.split_at(4);
    let router = Router::new()
        .get("/stream", |_: &Request| {
            Response::stream((0..3).map(|i| Bytes::from(vec![b'a' + i; 10])))
        })
        .post("/echo", |r: &Request| {
            Response::new(200).body(r.body().clone())
        })
        .any("/r", |r: &Request| {
            Response::text(200, r.path().to_string())
        })
        .fallback(static_root());
    let config = ServerConfig {
        max_head: 2048,
        max_headers: 16,
        max_target: 512,
        max_body: 4096,
        max_upload: 4096,
        ..ServerConfig::default()
    };
    let server = Server::new(config, router);
    let mut h = Harness::new();
    let c = h.open(server.connection());
    if ctl[0] & 1 == 1 {
        h.set_write_capacity(c, Some(64 + ctl[1] as usize));
    }
    let mut seed = u32::from_le_bytes([ctl[0], ctl[1], ctl[2], ctl[3]]) | 1;
    let mut all = Vec::new();
    let mut pos = 0;
    while pos < input.len() && h.is_open(c) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed as usize % 97 + 1).min(input.len() - pos);
        h.feed(c, &input[pos..pos + n]);
        pos += n;
        if seed & 0x700 == 0 {
            h.advance(Duration::from_millis((seed >> 12) as u64 % 40_000));
        }
        if seed & 0x10 == 0 {
            all.extend(h.take_output(c));
        }
    }
    all.extend(h.take_output(c));
    h.eof(c);
    all.extend(h.take_output(c));
    h.advance(Duration::from_secs(120));
    all.extend(h.take_output(c));
    if let Some(CloseReason::Panic) = h.close_reason(c) {
        panic!("the http connection panicked");
    }
    assert!(
        !String::from_utf8_lossy(&all).contains("SECRET"),
        "a file outside the root was served"
    );
}

/// A read-only file server on a small tree made once per process (files, a directory, a
/// symlink out of the root), so fuzzed requests reach ranges, validators and listings.
fn static_root() -> super::StaticFiles {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("nr-fuzz-http-{}", std::process::id()));
        let root = dir.join("root");
        let _ = std::fs::create_dir_all(root.join("d"));
        let _ = std::fs::write(dir.join("secret"), "SECRET");
        let _ = std::fs::write(root.join("a.txt"), "0123456789abcdef");
        let _ = std::fs::write(root.join("d/b.html"), "<p>b</p>");
        let _ = std::os::unix::fs::symlink(dir.join("secret"), root.join("out"));
        root
    });
    super::StaticFiles::new(root).expect("fuzz root")
}

/// The connection's wire codec (`wire.rs`): request heads and chunked bodies. Checks that a
/// complete head's ranges lie inside it, that no prefix of it parses as complete, and that
/// the chunked decoder gives the same pieces and verdict whatever the split point.
pub fn http_wire(data: &[u8]) {
    use bytes::BytesMut;

    use super::wire::{parse_head, ChunkStep, Chunked};
    use super::ServerConfig;

    let config = ServerConfig {
        max_head: 4096,
        max_headers: 32,
        max_target: 1024,
        ..ServerConfig::default()
    };
    let mut ranges = Vec::new();
    if let Ok(Some(head)) = parse_head(data, &config, &mut ranges) {
        assert!(head.len <= data.len());
        assert!(head.method.end <= head.len && head.target.end <= head.len);
        for (n, v) in &ranges {
            assert!(n.start <= n.end && n.end <= head.len && v.start <= v.end && v.end <= head.len);
        }
        for cut in [head.len / 2, head.len.saturating_sub(1)] {
            let mut r = Vec::new();
            assert!(
                !matches!(parse_head(&data[..cut], &config, &mut r), Ok(Some(_))),
                "a prefix of a head parsed as complete"
            );
        }
    }
    // Chunked: whole versus split in two.
    let decode = |parts: &[&[u8]]| -> (Vec<u8>, Option<bool>) {
        let mut dec = Chunked::default();
        let mut out = Vec::new();
        let mut input = BytesMut::new();
        let mut verdict = None;
        for part in parts {
            input.extend_from_slice(part);
            let step = dec.decode(&mut input, &mut |b| {
                out.extend_from_slice(&b);
                Ok(())
            });
            match step {
                Ok(ChunkStep::Done) => {
                    verdict = Some(true);
                    break;
                }
                Ok(ChunkStep::More) => {}
                Err(_) => {
                    verdict = Some(false);
                    break;
                }
            }
        }
        (out, verdict)
    };
    let whole = decode(&[data]);
    let at = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let split = decode(&[&data[..at], &data[at..]]);
    assert_eq!(whole.1, split.1, "verdict depends on the split point");
    if whole.1 == Some(true) {
        assert_eq!(whole.0, split.0, "data depends on the split point");
    }
}

/// The URL and request-target parsers and the path helpers: never panic; a parsed URL
/// prints back to a string that parses to the same URL; normalised paths are absolute,
/// free of dot segments, and normalising them again changes nothing.
pub fn http_url(data: &[u8]) {
    use super::url::{normalize_path, percent_decode, RequestTarget, Url};

    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = Url::parse(s) {
        let printed = url.to_string();
        assert_eq!(
            Url::parse(&printed).as_ref(),
            Ok(&url),
            "{s:?} printed as {printed:?}"
        );
    }
    for method in ["GET", "CONNECT", "OPTIONS"] {
        if let Ok(t) = RequestTarget::parse(method, s) {
            let _ = (t.path(), t.query());
        }
    }
    let n = normalize_path(s);
    assert!(n.path.starts_with('/'));
    assert!(
        !n.path.split('/').any(|seg| seg == "." || seg == ".."),
        "{:?}",
        n.path
    );
    assert_eq!(normalize_path(&n.path).path, n.path);
    if let Ok(bytes) = percent_decode(s) {
        assert!(!bytes.contains(&0));
    }
}

/// The single-pass head parser against the reference (line-splitting) one: whatever the
/// fast parser accepts, the reference accepts identically (same head, same header ranges);
/// whatever the reference accepts without control characters or bare LFs in it, the fast
/// parser accepts too (the fast one refuses both, per RFC 9110 and RFC 9112).
pub fn http_head_diff(data: &[u8]) {
    use super::wire::{parse_head, parse_head_reference};
    use super::ServerConfig;

    let cfg = ServerConfig {
        max_head: 1024,
        max_headers: 12,
        max_target: 256,
        ..ServerConfig::default()
    };
    let (mut fast_h, mut ref_h) = (Vec::new(), Vec::new());
    let fast = parse_head(data, &cfg, &mut fast_h);
    let reference = parse_head_reference(data, &cfg, &mut ref_h);
    if let Ok(Some(head)) = &fast {
        assert_eq!(
            reference.as_ref(),
            Ok(&Some(head.clone())),
            "fast accepted what the reference did not"
        );
        assert_eq!(fast_h, ref_h);
    }
    if let Ok(Some(head)) = &reference {
        let bytes = &data[..head.len];
        let ctl = bytes
            .iter()
            .any(|&b| (b < 0x20 && b != b'\r' && b != b'\n' && b != b'\t') || b == 0x7f);
        // The reference also let a bare-LF empty line end the headers early while the head
        // ran on to the next CRLFCRLF (skipping the bytes between: a smuggling shape); the
        // fast parser refuses any bare LF.
        let bare_lf = bytes
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\n' && (i == 0 || bytes[i - 1] != b'\r'));
        let clean = !ctl && !bare_lf;
        if clean {
            assert_eq!(
                fast.as_ref(),
                Ok(&Some(head.clone())),
                "reference accepted, fast did not"
            );
        }
    }
}
