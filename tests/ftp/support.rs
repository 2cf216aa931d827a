//! A netreactor FTP server on a fresh temporary tree, for the end-to-end tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use netreactor::ListenOptions;
use netreactor_protocols::ftp::{self, FtpConfig, User};

use crate::common;

/// A server and its directories: `root` is the users' home, `outside` its parent (holding
/// `secret.txt`, which no client may reach).
pub struct Fixture {
    /// The running server.
    pub server: common::Server,
    /// The home of every user.
    pub root: PathBuf,
    /// The directory around `root`.
    pub outside: PathBuf,
}

impl Fixture {
    /// The control address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The control port as a string.
    pub fn port(&self) -> String {
        self.addr().port().to_string()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.outside);
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Starts a server: user `foo`/`bar` with every letter, `no_<l>`/`pw` with all but `l`,
/// anonymous read-only, a symlink `link_out` to the outside and a dangling `dangling`.
pub fn start() -> Fixture {
    start_with(|_| {})
}

/// [`start`] with a change to the configuration.
pub fn start_with(tweak: impl FnOnce(&mut FtpConfig) + Send + 'static) -> Fixture {
    let (root, outside) = tree();
    let home = root.clone();
    let server = common::spawn(move |r| {
        let mut config = users(&home);
        tweak(&mut config);
        let addr = ftp::listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            config,
        )?;
        Ok(vec![addr])
    });
    Fixture {
        server,
        root,
        outside,
    }
}

/// A fresh tree: `(root, outside)`, with `secret.txt` outside and the two links inside.
pub fn tree() -> (PathBuf, PathBuf) {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let outside = std::env::temp_dir().join(format!("ftp-e2e-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&outside);
    let root = outside.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(outside.join("secret.txt"), b"top secret").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link_out")).unwrap();
    std::os::unix::fs::symlink(outside.join("nothing-here"), root.join("dangling")).unwrap();
    (root, outside)
}

/// The fixture's accounts on `home`: `foo`/`bar` with every letter, `no_<l>`/`pw` with all
/// but `l`, anonymous read-only.
pub fn users(home: &Path) -> FtpConfig {
    let mut config = FtpConfig::default();
    let all = "elradfmwMT";
    config.users.add(User {
        name: "foo".into(),
        password: "bar".into(),
        home: home.to_path_buf(),
        perms: all.parse().unwrap(),
    });
    for letter in all.chars() {
        let perms: String = all.chars().filter(|&c| c != letter).collect();
        config.users.add(User {
            name: format!("no_{letter}"),
            password: "pw".into(),
            home: home.to_path_buf(),
            perms: perms.parse().unwrap(),
        });
    }
    config.users.anonymous = Some(home.to_path_buf());
    config
}

/// Runs a client script from `tests/ftp/` and returns its stdout; panics with its output
/// when it fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ftp")
        .join(script);
    run(Command::new(common::python()).arg(path).args(args))
}

/// Runs a command; panics with its output unless it succeeds.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a command and returns (success, stdout + stderr).
pub fn try_run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("spawn client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
