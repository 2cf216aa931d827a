//! curl against the FTP server: download, upload, listing, over EPSV and PASV.

mod common;
#[path = "ftp/support.rs"]
mod support;

use std::process::Command;

fn curl() -> Command {
    common::require_tool("curl");
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "20", "--user", "foo:bar"]);
    c
}

#[test]
fn curl_downloads_uploads_and_lists_with_epsv_and_pasv() {
    let f = support::start();
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(f.root.join("down.bin"), &data).unwrap();
    let local = f.outside.join("local.bin");
    std::fs::write(&local, &data[..1_234_567]).unwrap();
    for (mode, flag) in [("epsv", "--ftp-pasv"), ("pasv", "--disable-epsv")] {
        let url = format!("ftp://{}/", f.addr());
        // Download.
        let got = f.outside.join(format!("got-{mode}.bin"));
        support::run(
            curl()
                .arg(flag)
                .arg(format!("{url}down.bin"))
                .arg("-o")
                .arg(&got),
        );
        assert_eq!(std::fs::read(&got).unwrap(), data, "{mode} download");
        // Upload.
        let name = format!("up-{mode}.bin");
        support::run(
            curl()
                .arg(flag)
                .arg("-T")
                .arg(&local)
                .arg(format!("{url}{name}")),
        );
        assert_eq!(
            std::fs::read(f.root.join(&name)).unwrap(),
            &data[..1_234_567],
            "{mode} upload"
        );
        // Listing (LIST) and names only (NLST).
        let list = support::run(curl().arg(flag).arg(&url));
        assert!(
            list.lines()
                .any(|l| l.starts_with('-') && l.ends_with(" down.bin")),
            "{list}"
        );
        let names = support::run(curl().arg(flag).arg("--list-only").arg(&url));
        assert!(names.lines().any(|l| l == name), "{names}");
    }
}

#[test]
fn curl_resumes_a_download_and_reports_missing_files() {
    let f = support::start();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 256) as u8).collect();
    std::fs::write(f.root.join("r.bin"), &data).unwrap();
    let part = f.outside.join("part.bin");
    std::fs::write(&part, &data[..40_000]).unwrap();
    let url = format!("ftp://{}/r.bin", f.addr());
    support::run(curl().args(["-C", "-", "-o"]).arg(&part).arg(&url));
    assert_eq!(std::fs::read(&part).unwrap(), data);
    let (ok, out) = support::try_run(curl().arg(format!("ftp://{}/missing.bin", f.addr())));
    // curl maps the 550 to exit code 78 ("remote file not found").
    assert!(!ok && out.contains("(78)"), "{out}");
}

#[test]
fn curl_passive_data_ports_come_from_the_configured_range() {
    let f = support::start_with(|c| c.passive_ports = Some(47310..=47319));
    std::fs::write(f.root.join("x.txt"), b"range").unwrap();
    for flag in ["--ftp-pasv", "--disable-epsv"] {
        let (ok, out) = support::try_run(
            curl()
                .args(["-v", flag])
                .arg(format!("ftp://{}/x.txt", f.addr())),
        );
        assert!(ok && out.contains("range"), "{out}");
        let port: u16 = out
            .lines()
            .find_map(|l| l.split("Connecting to 127.0.0.1 (127.0.0.1) port ").nth(1))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no data connect in curl -v output:\n{out}"));
        assert!((47310..=47319).contains(&port), "{flag}: port {port}");
    }
}

/// A reactor at its connection cap answers a new FTP client `421` (curl reports it) instead
/// of going silent.
#[test]
fn a_client_over_the_reactor_cap_gets_421() {
    use netreactor::{Config, ListenOptions};
    use netreactor_protocols::ftp::{self, FtpConfig};
    let server = common::spawn_with(Config::default().max_connections(1), |r| {
        let addr = ftp::listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            FtpConfig::default(),
        )?;
        Ok(vec![addr])
    });
    let mut held = std::net::TcpStream::connect(server.addr()).unwrap();
    held.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut banner = [0u8; 3];
    std::io::Read::read_exact(&mut held, &mut banner).unwrap();
    assert_eq!(&banner, b"220");
    let out = curl()
        .args(["-v", &format!("ftp://{}/", server.addr())])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("421 Too many connections"), "curl said: {err}");
}
