//! The `netreactor` binary as its users meet it: `--help` names flag values briefly, and log
//! lines carry colour codes only on a terminal.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn help_shows_short_value_names() {
    let out = Command::new(env!("CARGO_BIN_EXE_netreactor"))
        .arg("--help")
        .output()
        .expect("netreactor --help");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    // A value name spelled from the field (`<ftp_max_connections>`) is lower case.
    let long: Vec<&str> = help
        .split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(name, _)| name))
        .filter(|name| name.chars().any(|c| c.is_ascii_lowercase()))
        .collect();
    assert!(
        long.is_empty(),
        "value names from field names: {long:?}\n{help}"
    );
    for flag in [
        "--ftp-max-connections <N>",
        "--ftp-idle-timeout <SECS>",
        "--ftp-data-timeout <SECS>",
        "--workers <N>",
        "--cgi-max-scripts <N>",
        "--show-hidden",
    ] {
        assert!(help.contains(flag), "{flag} missing:\n{help}");
    }
}

#[test]
fn log_lines_carry_no_colour_codes_when_stderr_is_a_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netreactor"))
        .args([
            "--http",
            "127.0.0.1:0",
            "--root",
            env!("CARGO_MANIFEST_DIR"),
            "--no-ws",
            "--no-ftp",
            "--no-telnet",
            "--no-echo",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netreactor starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let done = line.contains("http: serving");
                seen.push(line);
                if done {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.contains("http: serving")),
        "no start-up line: {seen:?}"
    );
    assert!(
        seen.iter().all(|l| !l.contains('\x1b')),
        "ANSI escape in piped logs: {seen:?}"
    );
}
