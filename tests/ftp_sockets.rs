//! The FTP server on real sockets where the reactor is the subject: a FIFO in the home, a
//! dual-stack listener, and the demo's start-up (built-in login on loopback, the served root,
//! dot-files hidden). The PASV burst has a file of its own (`ftp_pasv_burst.rs`).

mod common;
#[path = "ftp/support.rs"]
mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use netreactor::ListenOptions;
use netreactor_protocols::ftp::{self, cli::FtpArgs, FtpConfig, User};

fn curl(user: &str) -> Command {
    common::require_tool("curl");
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "20", "--user", user]);
    c
}

#[test]
fn stor_onto_a_fifo_fails_at_once_and_the_reactor_keeps_serving() {
    let f = support::start();
    let fifo = f.root.join("fifo");
    support::run(Command::new("mkfifo").arg(&fifo));
    std::fs::write(f.root.join("ok.txt"), b"still served").unwrap();
    let local = f.outside.join("up.bin");
    std::fs::write(&local, b"payload").unwrap();
    let started = Instant::now();
    let (ok, out) = support::try_run(
        curl("foo:bar")
            .arg("-T")
            .arg(&local)
            .arg(format!("ftp://{}/fifo", f.addr())),
    );
    assert!(!ok && out.contains("550"), "{out}");
    let (ok, out) = support::try_run(curl("foo:bar").arg(format!("ftp://{}/fifo", f.addr())));
    assert!(!ok, "{out}");
    let got = support::run(curl("foo:bar").arg(format!("ftp://{}/ok.txt", f.addr())));
    assert_eq!(got, "still served");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_dual_stack_listener_serves_ipv4_and_ipv6_clients_on_one_port() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ftp-dual-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("both.txt"), b"v4 and v6").unwrap();
    let home = dir.clone();
    let server = common::spawn(move |r| {
        let mut config = FtpConfig::default();
        config.users.add(User {
            name: "foo".into(),
            password: "bar".into(),
            home,
            perms: "elr".parse().unwrap(),
        });
        let opts = ListenOptions {
            v6_only: false,
            ..ListenOptions::default()
        };
        Ok(vec![ftp::listen(
            r,
            "[::]:0".parse().unwrap(),
            &opts,
            config,
        )?])
    });
    let port = server.addr().port();
    for (host, flag) in [
        ("127.0.0.1", "--disable-epsv"),
        ("127.0.0.1", "--ftp-pasv"),
        ("[::1]", "--ftp-pasv"),
    ] {
        let url = format!("ftp://{host}:{port}/both.txt");
        let got = support::run(curl("foo:bar").arg(flag).arg(&url));
        assert_eq!(got, "v4 and v6", "{url} {flag}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_login_foo_bar_serves_the_root_with_dot_files_hidden() {
    let dir = std::env::temp_dir().join(format!("ftp-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/config"), b"[core]").unwrap();
    std::fs::write(dir.join("README.md"), b"# demo").unwrap();
    let root = dir.clone();
    let server = common::spawn(move |r| {
        let args = FtpArgs {
            addr: "127.0.0.1:0".parse().unwrap(),
            disabled: false,
            users: Vec::new(),
            anonymous: false,
            passive_ports: None,
            masquerade: None,
            max_connections: 512,
            max_per_ip: 32,
            idle_timeout: 300,
            data_timeout: 60,
            proxy_protocol: None,
            ftps: None,
            tls_required: false,
            tls_require_reuse: false,
        };
        let addr: SocketAddr = ftp::cli::start(r, &args, &ListenOptions::default(), &root, false)?;
        Ok(vec![addr])
    });
    let url = format!("ftp://{}/", server.addr());
    let upload = dir.with_extension("upload");
    std::fs::write(&upload, b"uploaded").unwrap();
    support::run(
        curl("foo:bar")
            .arg("-T")
            .arg(&upload)
            .arg(format!("{url}new.txt")),
    );
    assert_eq!(std::fs::read(dir.join("new.txt")).unwrap(), b"uploaded");
    let names = support::run(curl("anonymous:x@y").arg("--list-only").arg(&url));
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(
        names,
        ["README.md", "new.txt"],
        "anonymous sees the root, no dot-files"
    );
    let got = dir.with_extension("got");
    let (ok, out) = support::try_run(
        curl("foo:bar")
            .arg(format!("{url}.git/config"))
            .arg("-o")
            .arg(&got),
    );
    assert!(!ok && !got.exists(), "dot-directories refused: {out}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(upload);
}
