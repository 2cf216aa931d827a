//! CGI/1.1 scripts (shell and Python, from `tests/http/cgi/`) run by the file server,
//! exercised with curl over loopback.

mod common;
#[path = "http/support.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{curl, curl_status, start};

fn var<'a>(out: &'a str, name: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

#[test]
fn cgi_script_gets_rfc3875_meta_variables() {
    let f = start(|_| {});
    let (body, code) = curl(&[
        "-H",
        "X-Custom: hello there",
        "-H",
        "Proxy: http://evil.invalid",
        &f.url("/cgi-bin/env.sh/extra/info?a=1&b=%20"),
    ]);
    assert_eq!(code, 0);
    let out = String::from_utf8(body).unwrap();
    assert_eq!(var(&out, "GATEWAY_INTERFACE"), Some("CGI/1.1"), "{out}");
    assert_eq!(var(&out, "SERVER_PROTOCOL"), Some("HTTP/1.1"));
    assert_eq!(var(&out, "REQUEST_METHOD"), Some("GET"));
    assert_eq!(var(&out, "SCRIPT_NAME"), Some("/cgi-bin/env.sh"));
    assert_eq!(var(&out, "PATH_INFO"), Some("/extra/info"));
    assert_eq!(var(&out, "QUERY_STRING"), Some("a=1&b=%20"));
    assert_eq!(var(&out, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert!(var(&out, "REMOTE_PORT").unwrap().parse::<u16>().is_ok());
    assert_eq!(var(&out, "SERVER_NAME"), Some("127.0.0.1"));
    assert_eq!(
        var(&out, "SERVER_PORT"),
        Some(f.addr().port().to_string().as_str())
    );
    assert_eq!(var(&out, "HTTP_X_CUSTOM"), Some("hello there"));
    assert_eq!(
        var(&out, "HTTP_PROXY"),
        Some("unset"),
        "httpoxy header not passed"
    );
    assert_eq!(var(&out, "CONTENT_LENGTH"), Some("unset"));
}

#[test]
fn cgi_post_body_reaches_the_script_and_status_is_used() {
    let f = start(|_| {});
    let mut args = vec!["-D", "-", "--data-binary", "posted payload", "-H"];
    args.push("Content-Type: text/plain");
    let url = f.url("/cgi-bin/echo.py");
    args.push(&url);
    let (out, code) = curl(&args);
    assert_eq!(code, 0);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 201 Created\r\n"), "{out}");
    assert!(out.contains("X-Method: POST\r\n"), "{out}");
    assert!(out.contains("Transfer-Encoding: chunked"), "{out}");
    assert!(out.ends_with("got 14 bytes: posted payload"), "{out}");
}

#[test]
fn cgi_large_chunked_upload_and_streamed_output() {
    let f = start(|_| {});
    // 1 MiB out of a script that never says its length: streamed back chunked.
    let (body, code) = curl(&[&f.url("/cgi-bin/big.py")]);
    assert_eq!(code, 0);
    assert_eq!(body.len(), 16 * 65536);
    assert!(body[..65536].iter().all(|&b| b == b'A'));
    assert!(body[15 * 65536..].iter().all(|&b| b == b'P'));
    // A chunked request body is collected and given with its length.
    let data = "x".repeat(100_000);
    let (body, _) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &data,
        &f.url("/cgi-bin/echo.py"),
    ]);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with("got 100000 bytes: xxx"),
        "{}",
        &text[..40.min(text.len())]
    );
}

#[test]
fn cgi_status_and_location_headers() {
    let f = start(|_| {});
    let (out, _) = curl(&["-D", "-", &f.url("/cgi-bin/status.sh")]);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 418 I am a teapot\r\n"), "{out}");
    assert!(out.ends_with("short and stout\n"), "{out}");
    let (out, _) = curl(&["-D", "-", &f.url("/cgi-bin/status.sh?redirect")]);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 302 "), "{out}");
    assert!(
        out.contains("Location: http://example.invalid/elsewhere\r\n"),
        "{out}"
    );
}

#[test]
fn cgi_errors_missing_broken_and_not_executable() {
    let f = start(|_| {});
    assert_eq!(curl_status(&[&f.url("/cgi-bin/nope.sh")]), 404);
    assert_eq!(curl_status(&[&f.url("/cgi-bin/broken.sh")]), 502);
    std::fs::write(f.root.join("cgi-bin/plain.txt"), "not a script").unwrap();
    assert_eq!(curl_status(&[&f.url("/cgi-bin/plain.txt")]), 403);
    // Script source is never served as a file, whatever the spelling or link.
    let (body, _) = curl(&[&f.url("/cgi-bin/plain.txt")]);
    assert!(!String::from_utf8_lossy(&body).contains("not a script"));
    std::os::unix::fs::symlink(f.root.join("cgi-bin"), f.root.join("scripts")).unwrap();
    assert_eq!(curl_status(&[&f.url("/scripts/env.sh")]), 403);
    let (body, _) = curl(&[&f.url("/scripts/env.sh")]);
    assert!(!String::from_utf8_lossy(&body).contains("GATEWAY_INTERFACE"));
    assert_eq!(curl_status(&[&f.url("/scripts/")]), 403);
}

#[test]
fn cgi_hung_script_is_killed_within_the_limit_and_reaped() {
    let f = start(|c| c.cgi_timeout = Duration::from_millis(1500));
    let started = Instant::now();
    let status = curl_status(&[&f.url("/cgi-bin/hang.sh")]);
    let took = started.elapsed();
    assert_eq!(status, 504);
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(6),
        "answered after {took:?}"
    );
    let pid = std::fs::read_to_string(f.root.join("hang.pid")).unwrap();
    let pid = nix::unistd::Pid::from_raw(pid.trim().parse().unwrap());
    // Killed and reaped: no process (not even a zombie, which kill(pid, 0) still finds) is
    // left.
    let exists = || nix::sys::signal::kill(pid, None).is_ok();
    assert!(pid.as_raw() > 1);
    let deadline = Instant::now() + Duration::from_secs(3);
    while exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!exists(), "script {pid} still exists");
    // The server goes on serving.
    assert_eq!(curl_status(&[&f.url("/hello.txt")]), 200);
}

#[test]
fn cgi_keep_alive_connection_serves_scripts_and_files_in_turn() {
    let f = start(|_| {});
    let a = f.url("/cgi-bin/status.sh");
    let b = f.url("/hello.txt");
    let (out, code) = curl(&["-D", "-", &a, &b, &a]);
    assert_eq!(code, 0);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches("short and stout").count(), 2, "{out}");
    assert_eq!(out.matches("hello from the root").count(), 1, "{out}");
}

#[test]
fn cgi_directory_cannot_be_written_through_put() {
    let f = start(|c| c.writable = true);
    let src = f.dir.join("evil.sh");
    std::fs::write(&src, "#!/bin/sh\necho pwned\n").unwrap();
    let src = src.to_str().unwrap();
    let status = curl_status(&["-T", src, &f.url("/cgi-bin/evil.sh")]);
    assert!(
        [403, 404, 405].contains(&status),
        "PUT into cgi-bin -> {status}"
    );
    std::os::unix::fs::symlink(f.root.join("cgi-bin"), f.root.join("scripts")).unwrap();
    let status = curl_status(&["-T", src, &f.url("/scripts/evil.sh")]);
    assert_eq!(status, 403, "PUT through a link into cgi-bin");
    assert!(!f.root.join("cgi-bin/evil.sh").exists());
}

#[test]
fn cgi_output_to_http10_client_ends_with_close() {
    let f = start(|_| {});
    let (out, code) = curl(&["--http1.0", "-i", &f.url("/cgi-bin/status.sh")]);
    assert_eq!(code, 0);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 418 "), "{out}");
    assert!(out.contains("Connection: close\r\n"), "{out}");
    assert!(!out.contains("chunked"), "{out}");
    assert!(out.ends_with("\r\n\r\nshort and stout\n"), "{out}");
}

#[test]
fn cgi_large_post_is_streamed_to_the_script_beyond_the_memory_limit() {
    let f = start(|c| c.max_body = 64 * 1024);
    let path = f.dir.join("post.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let arg = format!("@{}", path.display());
    let (body, code) = curl(&["--data-binary", &arg, &f.url("/cgi-bin/echo.py")]);
    assert_eq!(code, 0);
    let prefix = b"got 3000000 bytes: ";
    assert!(
        body.starts_with(prefix),
        "{:?}",
        String::from_utf8_lossy(&body[..40.min(body.len())])
    );
    assert!(body[prefix.len()..] == data[..], "echoed body differs");
}
