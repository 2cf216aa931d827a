//! Path-traversal battery: every attempt to reach outside the document root gets 400, 403
//! or 404 and never the content of the file outside.

mod common;
#[path = "http/support.rs"]
mod support;

use support::{raw, start, status_of, SECRET};

const ATTEMPTS: &[&str] = &[
    "/../outside/secret.txt",
    "/../../outside/secret.txt",
    "/%2e%2e/outside/secret.txt",
    "/%2E%2E/outside/secret.txt",
    "/%2e%2e%2foutside%2fsecret.txt",
    "/.%2e/outside/secret.txt",
    "/sub/../../outside/secret.txt",
    "/sub/%2e%2e/%2e%2e/outside/secret.txt",
    "/..%5coutside%5csecret.txt",
    "/..\\outside\\secret.txt",
    "/sub\\..\\..\\outside\\secret.txt",
    "/hello.txt%00/../../outside/secret.txt",
    "/%00",
    "/leak.txt",
    "/leakdir/secret.txt",
    "/leakdir/",
    "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/../../../../../../etc/passwd",
    "//etc/passwd",
    "/cgi-bin/../../outside/secret.txt",
    "/cgi-bin/%2e%2e/%2e%2e/outside/secret.txt",
    "http://localhost/../outside/secret.txt",
];

#[test]
fn every_traversal_attempt_is_refused_without_content() {
    let f = start(|c| c.writable = true);
    for target in ATTEMPTS {
        for method in ["GET", "HEAD"] {
            let req = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let out = raw(f.addr(), req.as_bytes());
            let text = String::from_utf8_lossy(&out);
            let status = status_of(&out);
            assert!(
                [400, 403, 404].contains(&status),
                "{method} {target} -> {status}: {text}"
            );
            assert!(
                !text.contains(SECRET),
                "{method} {target} leaked the secret"
            );
            assert!(
                !text.contains("root:x:0"),
                "{method} {target} leaked /etc/passwd"
            );
        }
    }
}

#[test]
fn writes_outside_the_root_are_refused() {
    let f = start(|c| c.writable = true);
    for target in [
        "/../outside/evil.txt",
        "/%2e%2e/outside/evil.txt",
        "/leakdir/evil.txt",
        "/..%5cevil.txt",
    ] {
        let req = format!(
            "PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nevil"
        );
        let status = status_of(&raw(f.addr(), req.as_bytes()));
        assert!(
            [400, 403, 404, 409].contains(&status),
            "PUT {target} -> {status}"
        );
    }
    assert!(!f.dir.join("outside/evil.txt").exists());
    assert!(!f.dir.join("evil.txt").exists());
    for target in ["/leak.txt", "/leakdir/secret.txt", "/../outside/secret.txt"] {
        let req = format!("DELETE {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let status = status_of(&raw(f.addr(), req.as_bytes()));
        assert!(
            [400, 403, 404].contains(&status),
            "DELETE {target} -> {status}"
        );
    }
    assert!(f.dir.join("outside/secret.txt").exists());
}

#[test]
fn curl_path_as_is_cannot_escape_either() {
    let f = start(|_| {});
    for target in [
        "/../outside/secret.txt",
        "/sub/../../outside/secret.txt",
        "/leak.txt",
    ] {
        let url = f.url(target);
        let (body, _) = support::curl(&["--path-as-is", &url]);
        assert!(!String::from_utf8_lossy(&body).contains(SECRET), "{target}");
        let status = support::curl_status(&["--path-as-is", &url]);
        assert!([400, 403, 404].contains(&status), "{target} -> {status}");
    }
}
