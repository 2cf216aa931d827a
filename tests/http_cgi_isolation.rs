//! CGI isolation and conformance over real sockets: no-body statuses carry no body, a
//! script's process group dies with its run, a cap on running scripts, the request-target
//! rule shared with the static route, and scripts in nested directories.

mod common;
#[path = "http/support.rs"]
mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{curl, curl_status, raw, start, status_of};

/// True while `pid` names a process that is not a zombie.
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; no memory is involved.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    // An orphan killed but not yet reaped by its new parent is a zombie: it runs no more.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_none_or(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn wait_for_file(path: &Path, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(s) = fs::read_to_string(path) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_until_dead(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn cgi_no_body_status_sends_no_body_and_the_next_response_follows_its_head() {
    let f = start(|_| {});
    for status in ["204", "304"] {
        let req = format!(
            "GET /cgi-bin/nobody.sh?{status} HTTP/1.1\r\nHost: x\r\n\r\n\
             GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        let out = String::from_utf8(raw(f.addr(), req.as_bytes())).unwrap();
        assert!(out.starts_with(&format!("HTTP/1.1 {status} ")), "{out}");
        let (head, rest) = out.split_once("\r\n\r\n").expect("a head");
        assert!(head.contains("X-From: nobody"), "{out}");
        assert!(!head.contains("Transfer-Encoding"), "{out}");
        assert!(!head.contains("Content-Length"), "{out}");
        assert!(
            !out.contains("LEAKED"),
            "script body sent after {status}: {out}"
        );
        assert!(
            rest.starts_with("HTTP/1.1 200 OK\r\n"),
            "desync after {status}: {out}"
        );
        assert!(rest.ends_with("hello from the root\n"), "{out}");
    }
}

#[test]
fn cgi_answer_to_head_carries_no_body_nor_chunked_framing() {
    let f = start(|_| {});
    let req = "HEAD /cgi-bin/status.sh HTTP/1.1\r\nHost: x\r\n\r\n\
               GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let out = String::from_utf8(raw(f.addr(), req.as_bytes())).unwrap();
    let (head, rest) = out.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 418 "), "{out}");
    assert!(!head.contains("Transfer-Encoding"), "{out}");
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(!out.contains("short and stout"), "{out}");
}

#[test]
fn cgi_interim_status_as_the_answer_is_a_bad_gateway() {
    let f = start(|_| {});
    let out = raw(
        f.addr(),
        b"GET /cgi-bin/nobody.sh?100 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&out), 502, "{}", String::from_utf8_lossy(&out));
    assert!(!String::from_utf8_lossy(&out).contains("LEAKED"));
}

#[test]
fn cgi_timeout_kills_the_scripts_whole_process_group() {
    let f = start(|c| c.cgi_timeout = Duration::from_millis(1000));
    assert_eq!(curl_status(&[&f.url("/cgi-bin/spawner.sh?timeout")]), 504);
    let pid: i32 = wait_for_file(&f.root.join("spawner-timeout.pid"), Duration::from_secs(2))
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_until_dead(pid, Duration::from_secs(3)),
        "grandchild {pid} outlived the CGI timeout"
    );
    assert_eq!(curl_status(&[&f.url("/hello.txt")]), 200);
}

#[test]
fn cgi_script_exit_takes_the_grandchildren_it_left_behind() {
    let f = start(|_| {});
    let (out, _) = curl(&[&f.url("/cgi-bin/leaver.sh")]);
    assert_eq!(String::from_utf8_lossy(&out), "bye\n");
    let pid: i32 = wait_for_file(&f.root.join("leaver.pid"), Duration::from_secs(2))
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_until_dead(pid, Duration::from_secs(3)),
        "grandchild {pid} outlived its script"
    );
}

#[test]
fn cgi_client_going_away_kills_the_scripts_whole_process_group() {
    let f = start(|c| c.cgi_timeout = Duration::from_secs(60));
    let mut s = TcpStream::connect(f.addr()).unwrap();
    s.write_all(b"GET /cgi-bin/spawner.sh?gone HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let pid: i32 = wait_for_file(&f.root.join("spawner-gone.pid"), Duration::from_secs(5))
        .trim()
        .parse()
        .unwrap();
    assert!(
        alive(pid),
        "grandchild {pid} should run while the client waits"
    );
    drop(s);
    assert!(
        wait_until_dead(pid, Duration::from_secs(3)),
        "grandchild {pid} outlived its client"
    );
}

#[test]
fn cgi_scripts_beyond_the_cap_get_503_with_retry_after() {
    let f = start(|c| c.max_cgi_scripts = 2);
    let url = f.url("/cgi-bin/slow.sh");
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                // Staggered a little so the three are running together, not queued.
                std::thread::sleep(Duration::from_millis(100 * i));
                let (out, _) = curl(&["-i", &url]);
                String::from_utf8_lossy(&out).into_owned()
            })
        })
        .collect();
    let outs: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let refused: Vec<&String> = outs
        .iter()
        .filter(|o| o.starts_with("HTTP/1.1 503"))
        .collect();
    assert_eq!(refused.len(), 1, "{outs:#?}");
    assert!(refused[0].contains("Retry-After: 1\r\n"), "{}", refused[0]);
    assert_eq!(outs.iter().filter(|o| o.contains("slow done")).count(), 2);
    // The slots come back: a later run is served.
    let (out, _) = curl(&[&url]);
    assert_eq!(String::from_utf8_lossy(&out), "slow done\n");
}

#[test]
fn cgi_route_refuses_a_target_without_a_leading_slash() {
    let f = start(|_| {});
    for target in ["cgi-bin/env.sh", "cgi-bin/status.sh", "hello.txt"] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        let out = raw(f.addr(), req.as_bytes());
        assert_eq!(
            status_of(&out),
            400,
            "{target}: {}",
            String::from_utf8_lossy(&out)
        );
        assert!(!String::from_utf8_lossy(&out).contains("GATEWAY_INTERFACE"));
    }
}

#[test]
fn cgi_script_in_a_nested_directory_runs_with_the_rest_as_path_info() {
    let f = start(|_| {});
    let dir = f.root.join("cgi-bin/child-dir");
    fs::create_dir(&dir).unwrap();
    let script = dir.join("file.sh");
    fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nSCRIPT=%s INFO=%s\\n' \"$SCRIPT_NAME\" \"$PATH_INFO\"\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let (out, _) = curl(&[&f.url("/cgi-bin/child-dir/file.sh/extra/more")]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "SCRIPT=/cgi-bin/child-dir/file.sh INFO=/extra/more\n"
    );
    let (out, _) = curl(&[&f.url("/cgi-bin/child-dir/file.sh")]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "SCRIPT=/cgi-bin/child-dir/file.sh INFO=\n"
    );
    assert_eq!(curl_status(&[&f.url("/cgi-bin/child-dir/")]), 403);
    assert_eq!(curl_status(&[&f.url("/cgi-bin/child-dir/missing.sh")]), 404);
}

#[test]
fn fifo_in_the_root_is_answered_promptly_and_others_are_still_served() {
    let f = start(|c| c.writable = true);
    let status = std::process::Command::new("mkfifo")
        .arg(f.root.join("pipe"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let started = Instant::now();
    assert_eq!(curl_status(&[&f.url("/pipe")]), 403);
    let src = f.dir.join("up.txt");
    fs::write(&src, "data").unwrap();
    assert_eq!(
        curl_status(&["-T", src.to_str().unwrap(), &f.url("/pipe")]),
        403
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Nobody ever opened the FIFO for reading or writing: a writer would not block forever.
    assert_eq!(curl_status(&[&f.url("/hello.txt")]), 200);
    let mut s = TcpStream::connect(f.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /pipe HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 403 "), "{out}");
    assert!(out.ends_with("hello from the root\n"), "{out}");
}
