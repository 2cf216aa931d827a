//! FTPS with real clients: curl (explicit `--ssl-reqd` in EPSV and PASV mode, and
//! implicit `ftps://`), lftp mirroring a tree both ways over protected data channels, and
//! `openssl s_client -starttls ftp`; the required-TLS and session-reuse policies.

mod common;
#[path = "ftp/support.rs"]
mod support;
#[path = "ftp/tls_support.rs"]
mod tls_support;

use std::path::Path;
use std::process::{Command, Stdio};

/// curl trusting the test certificate, as `foo`, requiring TLS on control and data.
fn curl() -> Command {
    common::require_tool("curl");
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "20", "--user", "foo:bar", "--ssl-reqd"])
        .arg("--cacert")
        .arg(tls_support::cert());
    c
}

#[test]
fn curl_lists_downloads_and_uploads_over_explicit_ftps_in_epsv_and_pasv_mode() {
    let f = tls_support::start(|_| {});
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(f.root.join("down.bin"), &data).unwrap();
    let local = f.outside.join("local.bin");
    std::fs::write(&local, &data[..777_777]).unwrap();
    let url = format!("ftp://{}/", f.addr());
    // Active mode is left to ftplib (tests/ftps_ftplib.rs): curl 7.88 never starts TLS on
    // the data connection it accepts ("sa_addr inet_ntop() failed"), whatever the server.
    for (mode, flags) in [
        ("epsv", &["--ftp-pasv"][..]),
        ("pasv", &["--disable-epsv"][..]),
    ] {
        let got = f.outside.join(format!("got-{mode}.bin"));
        let (ok, log) = support::try_run(
            curl()
                .args(flags)
                .arg("-v")
                .arg(format!("{url}down.bin"))
                .arg("-o")
                .arg(&got),
        );
        assert!(ok, "{mode}: {log}");
        assert_eq!(std::fs::read(&got).unwrap(), data, "{mode} download");
        // The data channel was protected: PROT P accepted, and a TLS handshake for it.
        assert!(log.contains("< 234 AUTH TLS successful."), "{log}");
        assert!(log.contains("< 200 PROT now Private."), "{log}");
        assert!(
            log.matches("SSL connection using TLSv1.3").count() >= 2,
            "control and data handshakes: {log}"
        );
        let name = format!("up-{mode}.bin");
        support::run(
            curl()
                .args(flags)
                .arg("-T")
                .arg(&local)
                .arg(format!("{url}{name}")),
        );
        assert_eq!(
            std::fs::read(f.root.join(&name)).unwrap(),
            &data[..777_777],
            "{mode} upload"
        );
        let list = support::run(curl().args(flags).arg(&url));
        assert!(
            list.lines()
                .any(|l| l.starts_with('-') && l.ends_with(" down.bin")),
            "{mode}: {list}"
        );
    }
}

#[test]
fn curl_resumes_the_control_session_when_reuse_is_required() {
    let f = tls_support::start(|t| t.require_reuse = true);
    std::fs::write(f.root.join("r.txt"), b"reused\n").unwrap();
    for _ in 0..2 {
        let out = support::run(
            curl()
                .arg(format!("ftp://{}/r.txt", f.addr()))
                .arg(format!("ftp://{}/r.txt", f.addr())),
        );
        assert_eq!(out, "reused\nreused\n");
    }
    let list = support::run(curl().arg(format!("ftp://{}/", f.addr())));
    assert!(list.contains(" r.txt"), "{list}");
}

#[test]
fn curl_speaks_implicit_ftps() {
    let f = tls_support::start(|_| {});
    std::fs::write(f.root.join("i.txt"), b"implicit\n").unwrap();
    let base = format!("ftps://{}/", tls_support::implicit(&f));
    assert_eq!(
        support::run(curl().arg(format!("{base}i.txt"))),
        "implicit\n"
    );
    let local = f.outside.join("up.txt");
    std::fs::write(&local, b"up over 990\n").unwrap();
    support::run(curl().arg("-T").arg(&local).arg(format!("{base}up.txt")));
    assert_eq!(
        std::fs::read(f.root.join("up.txt")).unwrap(),
        b"up over 990\n"
    );
    let names = support::run(curl().arg("--list-only").arg(&base));
    assert!(names.lines().any(|l| l == "i.txt"), "{names}");
    // A plaintext FTP client on the implicit port gets no plaintext greeting.
    let (ok, out) = support::try_run(
        Command::new("curl")
            .args(["-sS", "--max-time", "5", "--user", "foo:bar"])
            .arg(format!("ftp://{}/", tls_support::implicit(&f))),
    );
    assert!(!ok && !out.contains("220"), "{out}");
}

#[test]
fn required_tls_refuses_a_plaintext_login_and_a_clear_data_channel() {
    let f = tls_support::start(|t| t.required = true);
    std::fs::write(f.root.join("x.txt"), b"x").unwrap();
    let (ok, out) = support::try_run(
        Command::new("curl")
            .args(["-sS", "-v", "--max-time", "10", "--user", "foo:bar"])
            .arg(format!("ftp://{}/x.txt", f.addr())),
    );
    assert!(!ok && out.contains("< 530 TLS required"), "{out}");
    // TLS on the control connection only (`--ftp-ssl-control`): PROT C, refused with 521.
    let (ok, out) = support::try_run(
        Command::new("curl")
            .args([
                "-sS",
                "-v",
                "--max-time",
                "10",
                "--user",
                "foo:bar",
                "--ftp-ssl-control",
            ])
            .arg("--cacert")
            .arg(tls_support::cert())
            .arg(format!("ftp://{}/x.txt", f.addr())),
    );
    assert!(!ok && out.contains("< 521 "), "{out}");
    assert_eq!(
        support::run(curl().arg(format!("ftp://{}/x.txt", f.addr()))),
        "x"
    );
}

/// A tree of files of several sizes, and a snapshot to compare trees by.
fn tree(dir: &Path) {
    for (i, sub) in ["a", "a/b", "c", "space dir"].iter().enumerate() {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        for j in 0..3 {
            let body: Vec<u8> = (0..(i * 50_000 + j * 999))
                .map(|k| (k * 17 % 256) as u8)
                .collect();
            std::fs::write(d.join(format!("f{j}.bin")), body).unwrap();
        }
    }
    std::fs::write(dir.join("empty"), b"").unwrap();
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push((rel + "/", Vec::new()));
                stack.push(p);
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn lftp(f: &support::Fixture, script: &str) -> String {
    common::require_tool("lftp");
    let full = format!(
        "set net:max-retries 1; set net:timeout 10; set ftp:ssl-force true; \
         set ftp:ssl-protect-data true; set ssl:verify-certificate no; \
         set ftp:ssl-protect-list true; open -u foo,bar ftp://{}; {script}",
        f.addr()
    );
    support::run(Command::new("lftp").arg("-d").arg("-c").arg(full))
}

#[test]
fn lftp_mirrors_a_tree_up_and_down_over_protected_data_channels() {
    for reuse in [false, true] {
        let f = tls_support::start(move |t| t.require_reuse = reuse);
        let src = f.outside.join("src");
        tree(&src);
        lftp(&f, &format!("mirror -R {} up", src.display()));
        assert_eq!(
            snapshot(&f.root.join("up")),
            snapshot(&src),
            "reuse {reuse}: up"
        );
        let back = f.outside.join("back");
        lftp(&f, &format!("mirror up {}", back.display()));
        assert_eq!(snapshot(&back), snapshot(&src), "reuse {reuse}: down");
    }
}

#[test]
fn openssl_s_client_starttls_ftp_gets_234_and_the_certificate() {
    common::require_tool("openssl");
    let f = tls_support::start(|_| {});
    let mut child = Command::new("openssl")
        .args(["s_client", "-starttls", "ftp", "-connect"])
        .arg(f.addr().to_string())
        .arg("-CAfile")
        .arg(tls_support::cert())
        .args([
            "-verify_hostname",
            "localhost",
            "-verify_return_error",
            "-ign_eof",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"USER foo\r\nQUIT\r\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{err}");
    // s_client got its 234 (it gives up otherwise), verified the certificate, and the
    // session then carried commands.
    assert!(!err.contains("Didn't find"), "{err}");
    assert!(text.contains("subject=CN = localhost"), "{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    assert!(text.contains("331 Username ok"), "{text}");
    assert!(text.contains("221 Goodbye."), "{text}");
}
