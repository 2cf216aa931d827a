//! Harness tests of the connection's CGI runs: real scripts, their pipes driven by the test.

use std::time::Duration;

use netreactor::testing::Harness;

use super::{router, text, HELLO};
use crate::http::{Server, ServerConfig};

pub(super) fn cgi_root(tag: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("nr-conn-cgi-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("cgi-bin")).unwrap();
    let script = dir.join("cgi-bin/t.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub(super) fn cgi_server(root: &std::path::Path) -> Server {
    let cfg = ServerConfig {
        root: root.to_path_buf(),
        cgi_dir: Some("cgi-bin".into()),
        cgi_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    Server::with_files(cfg, router()).unwrap()
}

#[test]
fn cgi_output_is_streamed_chunked_through_adopted_pipes() {
    let root = cgi_root("stream");
    let mut h = Harness::new();
    let c = h.open(cgi_server(&root).connection());
    h.feed(
        c,
        b"GET /cgi-bin/t.sh HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let kids = h.children(c);
    // stdout, stderr (stdin, with no body to write, is already closed).
    assert_eq!(kids.len(), 2, "{kids:?}");
    let stdout = kids[0];
    assert!(
        h.take_output(c).is_empty(),
        "nothing before the script speaks"
    );
    h.feed(
        stdout,
        b"Status: 201 Made\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nhel",
    );
    let s = text(&h.take_output(c));
    assert!(
        s.starts_with("HTTP/1.1 201 Made\r\n") || s.starts_with("HTTP/1.1 201 "),
        "{s}"
    );
    assert!(s.contains("X-A: 1\r\n"), "{s}");
    assert!(s.contains("Transfer-Encoding: chunked\r\n"), "{s}");
    assert!(s.ends_with("\r\n\r\n3\r\nhel\r\n"), "{s}");
    h.feed(stdout, b"lo");
    assert_eq!(text(&h.take_output(c)), "2\r\nlo\r\n");
    h.eof(stdout);
    let s = text(&h.take_output(c));
    assert!(s.starts_with("0\r\n\r\n"), "{s}");
    assert!(
        s.ends_with("Hello, World!"),
        "the pipelined request waited its turn: {s}"
    );
    assert!(h.is_open(c));
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cgi_no_body_status_drops_the_script_body_and_keeps_the_exchange_in_step() {
    for status in ["204", "304"] {
        let root = cgi_root(&format!("nobody{status}"));
        let mut h = Harness::new();
        let c = h.open(cgi_server(&root).connection());
        h.feed(
            c,
            b"GET /cgi-bin/t.sh HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        let stdout = h.children(c)[0];
        h.feed(
            stdout,
            format!("Status: {status}\r\nX-A: 1\r\n\r\nSMUGGLED").as_bytes(),
        );
        h.feed(stdout, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        h.eof(stdout);
        let s = text(&h.take_output(c));
        assert!(s.starts_with(&format!("HTTP/1.1 {status} ")), "{s}");
        let (head, rest) = s.split_once("\r\n\r\n").unwrap();
        assert!(!head.contains("Transfer-Encoding"), "{s}");
        assert!(!head.contains("Content-Type"), "{s}");
        assert!(!s.contains("SMUGGLED"), "{s}");
        assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{s}");
        assert!(rest.ends_with("Hello, World!"), "{s}");
        assert_eq!(s.matches("HTTP/1.1 ").count(), 2, "{s}");
        assert!(h.is_open(c));
        let _ = std::fs::remove_dir_all(root);
    }
}

#[test]
fn cgi_beyond_the_script_cap_gets_503_and_a_finished_run_frees_its_slot() {
    let root = cgi_root("cap");
    let cfg = ServerConfig {
        root: root.clone(),
        cgi_dir: Some("cgi-bin".into()),
        max_cgi_scripts: 1,
        ..ServerConfig::default()
    };
    let server = Server::with_files(cfg, router()).unwrap();
    let mut h = Harness::new();
    let a = h.open(server.connection());
    let b = h.open(server.connection());
    let req = b"GET /cgi-bin/t.sh HTTP/1.1\r\nHost: a\r\n\r\n";
    h.feed(a, req);
    let stdout = h.children(a)[0];
    h.feed(b, req);
    let s = text(&h.take_output(b));
    assert!(s.starts_with("HTTP/1.1 503 "), "{s}");
    assert!(s.contains("Retry-After: 1\r\n"), "{s}");
    assert!(h.children(b).is_empty(), "no script started beyond the cap");
    assert!(h.is_open(b), "a refusal keeps the connection");
    h.feed(stdout, b"Content-Type: text/plain\r\n\r\nok");
    h.eof(stdout);
    assert!(text(&h.take_output(a)).contains("ok"));
    // The script (`exit 0`) is reaped by now or at the next look (every 50 ms).
    std::thread::sleep(Duration::from_millis(100));
    h.advance(Duration::from_millis(100));
    h.feed(b, req);
    assert!(!h.children(b).is_empty(), "the slot came back");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cgi_silent_script_times_out_with_504() {
    let root = cgi_root("timeout");
    let mut h = Harness::new();
    let c = h.open(cgi_server(&root).connection());
    h.feed(c, b"GET /cgi-bin/t.sh HTTP/1.1\r\nHost: a\r\n\r\n");
    h.advance(Duration::from_secs(4));
    assert!(h.take_output(c).is_empty());
    h.advance(Duration::from_secs(2));
    let s = text(&h.take_output(c));
    assert!(s.starts_with("HTTP/1.1 504 "), "{s}");
    assert!(!h.is_open(c));
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cgi_output_without_header_block_is_502() {
    let root = cgi_root("bad");
    let mut h = Harness::new();
    let c = h.open(cgi_server(&root).connection());
    h.feed(c, b"GET /cgi-bin/t.sh HTTP/1.1\r\nHost: a\r\n\r\n");
    let stdout = h.children(c)[0];
    h.feed(stdout, b"no header here\n\n");
    let s = text(&h.take_output(c));
    assert!(s.starts_with("HTTP/1.1 502 "), "{s}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cgi_request_body_is_piped_to_stdin_as_it_arrives() {
    let root = cgi_root("stdin");
    let mut h = Harness::new();
    let c = h.open(cgi_server(&root).connection());
    h.feed(
        c,
        b"POST /cgi-bin/t.sh HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello",
    );
    let kids = h.children(c);
    assert_eq!(kids.len(), 3, "stdout, stderr, stdin: {kids:?}");
    let (stdout, stdin) = (kids[0], kids[2]);
    assert_eq!(
        h.take_output(stdin),
        b"hello",
        "piped before the body is complete"
    );
    h.feed(c, b"world");
    assert_eq!(h.take_output(stdin), b"world");
    assert!(!h.is_open(stdin), "stdin closed at the end of the body");
    h.feed(stdout, b"Content-Type: text/plain\r\n\r\nok");
    h.eof(stdout);
    let s = text(&h.take_output(c));
    assert!(s.ends_with("2\r\nok\r\n0\r\n\r\n"), "{s}");
    h.feed(c, HELLO);
    assert!(text(&h.take_output(c)).ends_with("Hello, World!"));
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cgi_answer_before_the_body_ends_drops_the_rest_and_keeps_the_connection() {
    let root = cgi_root("early");
    let mut h = Harness::new();
    let c = h.open(cgi_server(&root).connection());
    h.feed(
        c,
        b"POST /cgi-bin/t.sh HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
    );
    let stdout = h.children(c)[0];
    h.feed(stdout, b"Status: 400 No\r\n\r\nnope");
    h.eof(stdout);
    let s = text(&h.take_output(c));
    assert!(s.starts_with("HTTP/1.1 400 "), "{s}");
    assert!(s.ends_with("4\r\nnope\r\n0\r\n\r\n"), "{s}");
    // The rest of the body is read and dropped, not taken for a request.
    h.feed(c, b"defghijGET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    let s = text(&h.take_output(c));
    assert!(
        s.starts_with("HTTP/1.1 200 OK") && s.ends_with("Hello, World!"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(root);
}
