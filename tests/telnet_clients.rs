//! The Telnet chat with real clients: telnetlib3 (Python) and Debian's `telnet` (inetutils)
//! driven in tmux. `.ci/run` installs both.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use netreactor::ListenOptions;
use netreactor_protocols::telnet::server::{listen, TelnetConfig};

fn server() -> common::Server {
    common::spawn(|r| {
        let addr = listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            TelnetConfig::default(),
        )?;
        Ok(vec![addr])
    })
}

#[test]
fn telnetlib3_clients_negotiate_and_chat() {
    let server = server();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/telnet/telnetlib3_chat.py"
    );
    let out = Command::new(common::python())
        .arg(script)
        .arg(server.addr().port().to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "telnetlib3 client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("telnetlib3 chat ok"));
}

/// A tmux session running the `telnet` client; killed when dropped.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(name: &str, addr: SocketAddr) -> Tmux {
        Tmux::start_cmd(name, &format!("telnet {} {}", addr.ip(), addr.port()))
    }

    fn start_cmd(name: &str, cmd: &str) -> Tmux {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", name])
            .status();
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "120",
                "-y",
                "30",
                cmd,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux could not start");
        Tmux {
            name: name.to_string(),
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

#[test]
fn the_debian_telnet_client_chats_in_character_mode_with_line_editing() {
    common::require_tool("telnet");
    common::require_tool("tmux");
    let server = server();
    let id = std::process::id();
    let a = Tmux::start(&format!("nr-telnet-a-{id}"), server.addr());
    let b = Tmux::start(&format!("nr-telnet-b-{id}"), server.addr());
    a.wait_for("/help lists the commands");
    b.wait_for("/help lists the commands");
    a.keys(&["/nick carol", "Enter"]);
    a.wait_for("you are now carol");
    // Backspace editing: the server echoes, so the edit shows and the line arrives fixed.
    a.keys(&["helo", "BSpace", "lo dave", "Enter"]);
    b.wait_for("<carol> hello dave");
    b.keys(&["/nick dave", "Enter"]);
    b.keys(&["/who", "Enter"]);
    let who = b.wait_for("2 here");
    assert!(who.contains("carol") && who.contains("dave"), "{who}");
    b.keys(&["/msg carol hi", "Enter"]);
    a.wait_for("*dave* hi");
    a.keys(&["/quit", "Enter"]);
    b.wait_for("* carol left");
}

#[test]
fn backspace_over_wide_characters_leaves_the_screen_showing_the_buffer() {
    common::require_tool("telnet");
    common::require_tool("tmux");
    let server = server();
    let id = std::process::id();
    // An 8-bit clean client (`-8`) in a UTF-8 terminal.
    let cmd = format!(
        "env LANG=C.UTF-8 LC_ALL=C.UTF-8 telnet -8 {} {}",
        server.addr().ip(),
        server.addr().port()
    );
    let a = Tmux::start_cmd(&format!("nr-telnet-wide-a-{id}"), &cmd);
    let b = Tmux::start(&format!("nr-telnet-wide-b-{id}"), server.addr());
    a.wait_for("/help lists the commands");
    b.wait_for("/help lists the commands");
    a.keys(&["-l", "日本語"]);
    a.wait_for("日本語");
    a.keys(&["BSpace", "BSpace"]);
    // The screen shows what the buffer holds: one character left on the line.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let screen = a.screen();
        let last = screen
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        if last.trim_end() == "日" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the line should read 日; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    a.keys(&["-l", "!"]);
    a.keys(&["Enter"]);
    b.wait_for("日!");
}
