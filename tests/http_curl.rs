//! The file server against curl over loopback: GET, HEAD, PUT (`-T`, also chunked), DELETE,
//! Range, conditional requests, HTTP/1.0, directory listings.

mod common;
#[path = "http/support.rs"]
mod support;

use std::fs;

use support::{curl, curl_status, start};

fn headers_of(args: &[&str]) -> String {
    let mut all = vec!["-D", "-", "-o", "/dev/null"];
    all.extend_from_slice(args);
    String::from_utf8(curl(&all).0).unwrap()
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn curl_get_serves_file_content_type_and_index() {
    let f = start(|_| {});
    let (body, code) = curl(&[&f.url("/hello.txt")]);
    assert_eq!(code, 0);
    assert_eq!(body, b"hello from the root\n");
    let h = headers_of(&[&f.url("/style.css")]);
    assert!(h.starts_with("HTTP/1.1 200 OK"), "{h}");
    assert_eq!(header(&h, "content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(header(&h, "server"), Some("netreactor"));
    assert!(header(&h, "date").is_some_and(|d| d.ends_with("GMT")));
    let (body, _) = curl(&[&f.url("/")]);
    assert_eq!(body, b"<h1>home</h1>\n", "index.html for /");
    assert_eq!(curl_status(&[&f.url("/missing.txt")]), 404);
}

#[test]
fn curl_large_file_arrives_intact_through_sendfile() {
    let f = start(|_| {});
    let data: Vec<u8> = (0..12_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    fs::write(f.root.join("large.bin"), &data).unwrap();
    let (body, code) = curl(&[&f.url("/large.bin")]);
    assert_eq!(code, 0);
    assert_eq!(body.len(), data.len());
    assert!(body == data, "content differs");
    // Rate-limited client: the server must wait on backpressure, not drop or hold it all.
    let (body, _) = curl(&[
        "--limit-rate",
        "4M",
        "-r",
        "0-3999999",
        &f.url("/large.bin"),
    ]);
    assert!(body == data[..4_000_000], "ranged slow download differs");
}

#[test]
fn curl_head_has_length_and_no_body() {
    let f = start(|_| {});
    let h = headers_of(&["-I", &f.url("/digits.txt")]);
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    assert_eq!(header(&h, "content-length"), Some("10000"));
    let (body, code) = curl(&["-I", &f.url("/digits.txt")]);
    assert_eq!(code, 0);
    assert!(!String::from_utf8_lossy(&body).contains("0123456789"));
}

#[test]
fn curl_directory_listing_escapes_names_and_redirects_to_slash() {
    let f = start(|_| {});
    let h = headers_of(&[&f.url("/sub")]);
    assert!(h.starts_with("HTTP/1.1 301"), "{h}");
    assert_eq!(header(&h, "location"), Some("/sub/"));
    let (body, _) = curl(&["-L", &f.url("/sub")]);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("&lt;script&gt;.txt"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("href=\"a%20b.txt\""), "{html}");
    let (body, _) = curl(&[&f.url("/sub/a%20b.txt")]);
    assert_eq!(body, b"spaced\n");
}

#[test]
fn curl_range_requests_get_206_and_416() {
    let f = start(|_| {});
    let h = headers_of(&["-r", "10-19", &f.url("/digits.txt")]);
    assert!(h.starts_with("HTTP/1.1 206"), "{h}");
    assert_eq!(header(&h, "content-range"), Some("bytes 10-19/10000"));
    let (body, _) = curl(&["-r", "10-19", &f.url("/digits.txt")]);
    assert_eq!(body, b"0123456789");
    let (body, _) = curl(&["-r", "-3", &f.url("/digits.txt")]);
    assert_eq!(body, b"789");
    assert_eq!(curl_status(&["-r", "20000-", &f.url("/digits.txt")]), 416);
}

#[test]
fn curl_multiple_ranges_come_back_as_multipart_byteranges() {
    let f = start(|_| {});
    let (out, _) = curl(&["-i", "-r", "0-2,100-104", &f.url("/digits.txt")]);
    let out = String::from_utf8(out).unwrap();
    let (h, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(h.starts_with("HTTP/1.1 206"), "{h}");
    let ct = header(h, "content-type").unwrap().to_string();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect("multipart")
        .to_string();
    assert_eq!(
        header(h, "content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        body.len()
    );
    let expected = format!(
        "--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-2/10000\r\n\r\n012\r\n\
         --{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 100-104/10000\r\n\r\n01234\r\n\
         --{b}--\r\n",
        b = boundary
    );
    assert_eq!(body, expected);
}

#[test]
fn curl_conditional_requests_get_304() {
    let f = start(|_| {});
    let h = headers_of(&[&f.url("/hello.txt")]);
    let etag = header(&h, "etag").expect("etag").to_string();
    let lm = header(&h, "last-modified")
        .expect("last-modified")
        .to_string();
    let inm = format!("If-None-Match: {etag}");
    assert_eq!(curl_status(&["-H", &inm, &f.url("/hello.txt")]), 304);
    assert_eq!(curl_status(&["-z", &lm, &f.url("/hello.txt")]), 304);
    assert_eq!(
        curl_status(&["-H", "If-None-Match: \"nope\"", &f.url("/hello.txt")]),
        200
    );
    let (body, _) = curl(&["-H", &inm, &f.url("/hello.txt")]);
    assert!(body.is_empty(), "304 has no body");
}

#[test]
fn curl_http10_gets_an_answer_and_a_close() {
    let f = start(|_| {});
    let h = headers_of(&["--http1.0", &f.url("/hello.txt")]);
    assert_eq!(header(&h, "connection"), Some("close"), "{h}");
    let (body, code) = curl(&["--http1.0", &f.url("/hello.txt")]);
    assert_eq!((body.as_slice(), code), (&b"hello from the root\n"[..], 0));
}

#[test]
fn curl_put_creates_replaces_and_delete_removes() {
    let f = start(|c| c.writable = true);
    let src = f.dir.join("upload.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&src, &data).unwrap();
    let src = src.to_str().unwrap();
    assert_eq!(curl_status(&["-T", src, &f.url("/up.bin")]), 201);
    assert_eq!(fs::read(f.root.join("up.bin")).unwrap(), data);
    fs::write(f.dir.join("v2.txt"), "second version").unwrap();
    let v2 = f.dir.join("v2.txt");
    assert_eq!(
        curl_status(&["-T", v2.to_str().unwrap(), &f.url("/up.bin")]),
        204
    );
    assert_eq!(fs::read(f.root.join("up.bin")).unwrap(), b"second version");
    let (body, _) = curl(&[&f.url("/up.bin")]);
    assert_eq!(body, b"second version");
    assert_eq!(curl_status(&["-X", "DELETE", &f.url("/up.bin")]), 204);
    assert!(!f.root.join("up.bin").exists());
    assert_eq!(curl_status(&["-X", "DELETE", &f.url("/up.bin")]), 404);
    let leftovers: Vec<_> = fs::read_dir(&f.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("upload"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn curl_chunked_upload_is_stored_whole() {
    let f = start(|c| c.writable = true);
    common::require_tool("curl");
    let mut child = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-T", "-"])
        .args(["-H", "Transfer-Encoding: chunked", &f.url("/streamed.txt")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for i in 0..50 {
            writeln!(stdin, "line {i}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "201");
    let stored = fs::read_to_string(f.root.join("streamed.txt")).unwrap();
    assert_eq!(stored.lines().count(), 50);
    assert!(stored.starts_with("line 0\n") && stored.ends_with("line 49\n"));
}

#[test]
fn curl_put_and_delete_are_refused_when_read_only() {
    let f = start(|_| {});
    let src = f.dir.join("x.txt");
    fs::write(&src, "x").unwrap();
    let h = headers_of(&["-T", src.to_str().unwrap(), &f.url("/x.txt")]);
    assert!(h.starts_with("HTTP/1.1 405"), "{h}");
    assert_eq!(header(&h, "allow"), Some("GET, HEAD, OPTIONS"));
    assert!(!f.root.join("x.txt").exists());
    assert_eq!(curl_status(&["-X", "DELETE", &f.url("/hello.txt")]), 405);
    assert!(f.root.join("hello.txt").exists());
    let h = headers_of(&["-X", "OPTIONS", &f.url("/hello.txt")]);
    assert!(h.starts_with("HTTP/1.1 204"), "{h}");
}

#[test]
fn curl_put_over_the_limit_is_413_and_leaves_nothing() {
    let f = start(|c| {
        c.writable = true;
        c.max_upload = 1000;
    });
    let src = f.dir.join("big.bin");
    fs::write(&src, vec![b'z'; 5000]).unwrap();
    assert_eq!(
        curl_status(&["-T", src.to_str().unwrap(), &f.url("/big.bin")]),
        413
    );
    let names: Vec<_> = fs::read_dir(&f.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("big"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn curl_follows_listing_links_to_names_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let f = start(|_| {});
    fs::create_dir(f.root.join("d")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"\xe7w\xf0.txt");
    fs::write(f.root.join("d").join(name), "latin-1 name\n").unwrap();
    let (listing, _) = curl(&[&f.url("/d/")]);
    let listing = String::from_utf8(listing).unwrap();
    assert!(listing.contains("href=\"%E7w%F0.txt\""), "{listing}");
    let (body, code) = curl(&[&f.url("/d/%E7w%F0.txt")]);
    assert_eq!(code, 0);
    assert_eq!(body, b"latin-1 name\n");
}

#[test]
fn curl_sees_the_normalised_redirect_and_no_file_under_a_trailing_slash() {
    let f = start(|_| {});
    let h = headers_of(&["--path-as-is", &f.url("//sub")]);
    assert!(h.starts_with("HTTP/1.1 301 "), "{h}");
    assert_eq!(header(&h, "location"), Some("/sub/"), "{h}");
    assert_eq!(curl_status(&[&f.url("/hello.txt/")]), 404);
    assert_eq!(curl_status(&["--path-as-is", &f.url("/hello.txt/.")]), 404);
    assert_eq!(curl_status(&[&f.url("/hello.txt")]), 200);
}

#[test]
fn curl_put_that_creates_answers_201_with_location() {
    let f = start(|c| c.writable = true);
    let src = f.dir.join("up.txt");
    fs::write(&src, "uploaded").unwrap();
    // No `Expect: 100-continue`, so the first head is the final one.
    let h = headers_of(&[
        "-H",
        "Expect:",
        "-T",
        src.to_str().unwrap(),
        &f.url("/sub/new%20one.txt"),
    ]);
    assert!(h.starts_with("HTTP/1.1 201 "), "{h}");
    assert_eq!(header(&h, "location"), Some("/sub/new%20one.txt"), "{h}");
    assert_eq!(
        fs::read(f.root.join("sub/new one.txt")).unwrap(),
        b"uploaded"
    );
}
