//! CGI/1.1 (RFC 3875): which URLs run scripts, the meta-variables a script gets, how it is
//! spawned (directly, never through a shell), and how its output header block is read.
//!
//! The connection state machine ([`super::conn`]) drives the child's pipes through the
//! reactor (`Context::adopt_child`); this module only prepares and parses.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;

use super::handler::Request;

/// Where scripts live and how long they may run.
#[derive(Clone, Debug)]
pub struct CgiConfig {
    /// The canonical directory holding the scripts.
    pub dir: PathBuf,
    /// The URL prefix that maps onto `dir`, e.g. `/cgi-bin` (no trailing slash).
    pub url_prefix: String,
    /// Wall-clock limit of one script run; a script still running then is killed.
    pub timeout: Duration,
    /// Largest output header block accepted from a script (502 beyond).
    pub max_head: usize,
}

impl CgiConfig {
    /// Scripts under `root/<dir>` answer URLs under `/<dir>/`, like Python's
    /// `CGIHTTPRequestHandler` (`--cgi-dir cgi-bin` serves `ROOT/cgi-bin/x.py` as
    /// `/cgi-bin/x.py`). `dir` may be nested (`a/cgi`) but not absolute nor contain `..`.
    pub fn under_root(root: &Path, dir: &str, timeout: Duration) -> io::Result<CgiConfig> {
        let rel = dir.trim_matches('/');
        if rel.is_empty() || rel.split('/').any(|s| s == ".." || s == ".") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--cgi-dir {dir:?}: give a directory under the root, like cgi-bin"),
            ));
        }
        let canon = fs::canonicalize(root.join(rel))?;
        if !canon.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", canon.display()),
            ));
        }
        Ok(CgiConfig {
            dir: canon,
            url_prefix: format!("/{rel}"),
            timeout,
            max_head: 64 * 1024,
        })
    }

    /// True when the (decoded, normalised) `path` is under the script URL prefix.
    pub fn matches(&self, path: &str) -> bool {
        match path.strip_prefix(self.url_prefix.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }

    /// Finds the script a path names: the longest prefix of the path below the script
    /// directory that is an executable regular file is the script, the rest is `PATH_INFO`
    /// (as Python's CGI handler and Apache do, so scripts may live in nested directories:
    /// `/cgi-bin/tools/run.py/extra` runs `tools/run.py` with `PATH_INFO=/extra`). `path` is
    /// the decoded, normalised path. Err: 403 (not executable, outside the directory, a
    /// hidden name, or a directory), 404 (missing), 400 (NUL, backslash or a control
    /// character).
    pub fn resolve(&self, path: &str) -> Result<CgiScript, u16> {
        let rest = path
            .strip_prefix(self.url_prefix.as_str())
            .ok_or(404u16)?
            .trim_start_matches('/');
        if rest.is_empty() {
            return Err(403);
        }
        if rest
            .bytes()
            .any(|b| b == 0 || b == b'\\' || b < 0x20 || b == 0x7f)
        {
            return Err(400);
        }
        let mut candidate = self.dir.clone();
        let mut used = 0;
        for seg in rest.split('/') {
            if seg == ".." || seg == "." {
                return Err(400);
            }
            if seg.is_empty() {
                // A trailing slash after a directory: no script named.
                return Err(403);
            }
            if seg.starts_with('.') {
                return Err(403);
            }
            candidate.push(seg);
            used += seg.len() + 1;
            // `stat` never opens (nor blocks on) what it looks at.
            let meta = fs::metadata(&candidate).map_err(|_| 404u16)?;
            if meta.is_dir() {
                continue;
            }
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                return Err(403);
            }
            let canon = fs::canonicalize(&candidate).map_err(|_| 404u16)?;
            if !canon.starts_with(&self.dir) || canon == self.dir {
                return Err(403);
            }
            let name = &rest[..used - 1];
            let info = &rest[(used - 1).min(rest.len())..];
            return Ok(CgiScript {
                path: canon,
                script_name: format!("{}/{}", self.url_prefix, name),
                path_info: info.to_string(),
            });
        }
        // Every segment was a directory.
        Err(403)
    }
}

/// A script found by [`CgiConfig::resolve`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgiScript {
    /// The executable.
    pub path: PathBuf,
    /// `SCRIPT_NAME`: the URL path of the script.
    pub script_name: String,
    /// `PATH_INFO`: what follows the script in the URL path (empty or starting with `/`).
    pub path_info: String,
}

/// Facts about the server a script's meta-variables need.
#[derive(Clone, Debug)]
pub struct ServerFacts<'a> {
    /// `SERVER_SOFTWARE`.
    pub software: &'a str,
    /// The document root (for `PATH_TRANSLATED` and `DOCUMENT_ROOT`).
    pub root: &'a Path,
    /// The address the request arrived on.
    pub local: Option<SocketAddr>,
    /// The client.
    pub peer: Option<SocketAddr>,
    /// The request came over TLS: `HTTPS=on`.
    pub https: bool,
}

/// The RFC 3875 meta-variables for running `script` on `req` whose body has `body_len`
/// bytes (`None`: no body) (plus `PATH`, so `#!/usr/bin/env` scripts find their
/// interpreter). Headers become `HTTP_*` (except `Content-Length`, `Content-Type`, which
/// have their own variables, `Proxy` (httpoxy), and names containing `_`, which would be
/// ambiguous); repeated headers are joined with `, `.
pub fn meta_variables(
    req: &Request,
    script: &CgiScript,
    facts: &ServerFacts<'_>,
    body_len: Option<u64>,
) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> = Vec::with_capacity(24 + req.headers.len());
    let mut set = |k: &str, v: OsString| env.push((k.to_string(), v));
    set("GATEWAY_INTERFACE", "CGI/1.1".into());
    set("SERVER_SOFTWARE", facts.software.into());
    set(
        "SERVER_PROTOCOL",
        format!("HTTP/1.{}", req.version_minor()).into(),
    );
    set("REQUEST_METHOD", req.method().into());
    set("SCRIPT_NAME", script.script_name.clone().into());
    set("PATH_INFO", script.path_info.clone().into());
    if !script.path_info.is_empty() {
        let translated = facts.root.join(script.path_info.trim_start_matches('/'));
        set("PATH_TRANSLATED", translated.into_os_string());
    }
    set("DOCUMENT_ROOT", facts.root.as_os_str().to_owned());
    set("SCRIPT_FILENAME", script.path.as_os_str().to_owned());
    set("QUERY_STRING", req.query().unwrap_or("").into());
    set(
        "REQUEST_URI",
        String::from_utf8_lossy(req.raw_target())
            .into_owned()
            .into(),
    );
    let host_header = req.header_str("host").map(|h| h.trim().to_string());
    let server_name = match &host_header {
        Some(h) if !h.is_empty() => match h.rfind(':') {
            Some(i) if !h.ends_with(']') => h[..i].to_string(),
            _ => h.clone(),
        },
        _ => facts
            .local
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "localhost".into()),
    };
    set("SERVER_NAME", server_name.into());
    set(
        "SERVER_PORT",
        facts
            .local
            .map(|a| a.port().to_string())
            .unwrap_or_else(|| "80".into())
            .into(),
    );
    if let Some(peer) = facts.peer {
        set("REMOTE_ADDR", peer.ip().to_string().into());
        set("REMOTE_PORT", peer.port().to_string().into());
    }
    if facts.https {
        set("HTTPS", "on".into());
    }
    if let Some(n) = body_len {
        set("CONTENT_LENGTH", n.to_string().into());
    }
    if let Some(ct) = req.header_str("content-type") {
        set("CONTENT_TYPE", ct.into());
    }
    if let Some(path) = std::env::var_os("PATH") {
        set("PATH", path);
    }
    // HTTP_* from the headers, repeated ones joined.
    let mut http: Vec<(String, String)> = Vec::new();
    for (name, value) in req.headers() {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name.contains('_')
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("content-type")
            || name.eq_ignore_ascii_case("proxy")
        {
            continue;
        }
        let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        let value = String::from_utf8_lossy(value).into_owned();
        match http.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => http.push((key, value)),
        }
    }
    for (k, v) in http {
        env.push((k, v.into()));
    }
    env
}

/// A running script with its three pipes, ready to be adopted by the reactor.
#[derive(Debug)]
pub struct Spawned {
    /// The child process (kill it and reap it with `try_wait`).
    pub child: Child,
    /// Its stdin (the request body goes here).
    pub stdin: OwnedFd,
    /// Its stdout (the response).
    pub stdout: OwnedFd,
    /// Its stderr (logged).
    pub stderr: OwnedFd,
}

/// Starts `script` with exactly the environment `env` (nothing inherited), its working
/// directory the script's own, no shell in between.
pub fn spawn(script: &CgiScript, env: &[(String, OsString)]) -> io::Result<Spawned> {
    let mut cmd = Command::new(&script.path);
    // A process group of its own (the script is its leader), so that everything it starts
    // is killed with it: see [`kill_group`].
    cmd.process_group(0);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = script.path.parent() {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn()?;
    let stdin = child.stdin.take().map(OwnedFd::from);
    let stdout = child.stdout.take().map(OwnedFd::from);
    let stderr = child.stderr.take().map(OwnedFd::from);
    match (stdin, stdout, stderr) {
        (Some(stdin), Some(stdout), Some(stderr)) => Ok(Spawned {
            child,
            stdin,
            stdout,
            stderr,
        }),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            Err(io::Error::other("child pipes missing"))
        }
    }
}

/// Kills the script and everything it started (its process group: [`spawn`] makes the
/// script a group leader, and its children inherit the group), then reaps the script.
pub fn kill_group(child: &mut Child) {
    kill_group_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends `SIGKILL` to process group `pgid` (a script's pid), if it still has members.
///
/// Only call it while the leader is running or not yet reaped (a zombie keeps its pid, so
/// the group id cannot be given to another process): [`reap_group`] does so.
pub fn kill_group_of(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        if pgid > 0 {
            // SAFETY: killpg takes plain integers and touches no memory; a group that no
            // longer exists gives ESRCH, which is ignored.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

/// If the script has exited: kills what is left of its process group, then reaps it and
/// returns its status. `Ok(None)` while it still runs. The exit is noticed without reaping
/// (`waitid` with `WNOWAIT`), so the group is signalled while its id is still the zombie
/// leader's and cannot name anyone else's processes.
pub fn reap_group(child: &mut Child) -> io::Result<Option<std::process::ExitStatus>> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) => Ok(None),
            Ok(_) => {
                kill_group_of(child.id());
                child.wait().map(Some)
            }
            // Already reaped elsewhere, or waitid unavailable: fall back to the plain check.
            Err(_) => child.try_wait(),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        // No `waitid` with `WNOWAIT` here (macOS): reap, then signal the group. A process
        // group's id is not reused while the group has members, so this reaches the script's
        // leftovers or nobody.
        match child.try_wait()? {
            None => Ok(None),
            Some(status) => {
                kill_group_of(child.id());
                Ok(Some(status))
            }
        }
    }
}

/// The header block a script printed, turned into a response head.
#[derive(Debug, PartialEq, Eq)]
pub struct CgiHead {
    /// From `Status:`, or 302 for a `Location:` alone, else 200.
    pub status: u16,
    /// The reason phrase given with `Status:`, if any.
    pub reason: Option<String>,
    /// The other headers, in order (hop-by-hop and framing headers removed).
    pub headers: Vec<(Bytes, Bytes)>,
}

/// Why a script's output is not a valid CGI response (502).
#[derive(Debug, PartialEq, Eq)]
pub enum CgiHeadError {
    /// The header block is larger than allowed.
    TooLarge,
    /// A line is not `Name: value`, or the `Status` is not three digits.
    Malformed,
}

fn is_token(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// Parses the header block at the start of a script's output. `Ok(None)`: need more
/// output; `Ok(Some((head, n)))`: the block took `n` bytes, the body follows.
pub fn parse_cgi_head(buf: &[u8], max: usize) -> Result<Option<(CgiHead, usize)>, CgiHeadError> {
    let mut pos = 0;
    let mut status: Option<u16> = None;
    let mut reason: Option<String> = None;
    let mut location = false;
    let mut headers = Vec::new();
    loop {
        let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) else {
            if buf.len() > max {
                return Err(CgiHeadError::TooLarge);
            }
            return Ok(None);
        };
        let line_end = pos + nl;
        if line_end + 1 > max {
            return Err(CgiHeadError::TooLarge);
        }
        let mut line = &buf[pos..line_end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        pos = line_end + 1;
        if line.is_empty() {
            break;
        }
        let colon = memchr::memchr(b':', line).ok_or(CgiHeadError::Malformed)?;
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if !is_token(name) || value.iter().any(|&c| c == b'\r' || c == 0) {
            return Err(CgiHeadError::Malformed);
        }
        if name.eq_ignore_ascii_case(b"status") {
            let code = value.get(..3).ok_or(CgiHeadError::Malformed)?;
            if !code.iter().all(u8::is_ascii_digit) || value.get(3).is_some_and(|&c| c != b' ') {
                return Err(CgiHeadError::Malformed);
            }
            let code: u16 = std::str::from_utf8(code).unwrap().parse().unwrap();
            if !(100..=999).contains(&code) {
                return Err(CgiHeadError::Malformed);
            }
            status = Some(code);
            let text = String::from_utf8_lossy(value.get(4..).unwrap_or(b""))
                .trim()
                .to_string();
            reason = (!text.is_empty()).then_some(text);
            continue;
        }
        if name.eq_ignore_ascii_case(b"location") {
            location = true;
        }
        const DROP: [&[u8]; 6] = [
            b"connection",
            b"transfer-encoding",
            b"content-length",
            b"keep-alive",
            b"upgrade",
            b"server",
        ];
        if DROP.iter().any(|d| name.eq_ignore_ascii_case(d)) {
            continue;
        }
        headers.push((Bytes::copy_from_slice(name), Bytes::copy_from_slice(value)));
    }
    let status = status.unwrap_or(if location { 302 } else { 200 });
    Ok(Some((
        CgiHead {
            status,
            reason,
            headers,
        },
        pos,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmp(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("nr-cgi-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(p.join("cgi-bin")).unwrap();
        p
    }

    fn script(dir: &Path, name: &str, body: &str, mode: u32) {
        let p = dir.join(name);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn head_block_with_status_and_location_rules() {
        let out = b"Content-Type: text/plain\r\nStatus: 404 Not Found\r\nX-A: 1\r\n\r\nbody";
        let (head, n) = parse_cgi_head(out, 1024).unwrap().unwrap();
        assert_eq!(head.status, 404);
        assert_eq!(head.reason.as_deref(), Some("Not Found"));
        assert_eq!(&out[n..], b"body");
        assert_eq!(head.headers.len(), 2);
        let (head, _) = parse_cgi_head(b"Location: /x\n\n", 1024).unwrap().unwrap();
        assert_eq!(head.status, 302);
        let (head, n) = parse_cgi_head(b"Content-Type: a/b\nConnection: x\n\nrest", 1024)
            .unwrap()
            .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.headers.len(), 1, "hop-by-hop header dropped");
        assert_eq!(n, 33);
        assert_eq!(parse_cgi_head(b"Content-Type: a", 1024), Ok(None));
        assert_eq!(
            parse_cgi_head(b"garbage\n\n", 1024),
            Err(CgiHeadError::Malformed)
        );
        assert_eq!(
            parse_cgi_head(b"Status: abc\n\n", 1024),
            Err(CgiHeadError::Malformed)
        );
        assert_eq!(
            parse_cgi_head(&[b'a'; 100], 50),
            Err(CgiHeadError::TooLarge)
        );
    }

    #[test]
    fn resolve_finds_executables_only_and_splits_path_info() {
        let root = tmp("resolve");
        let dir = root.join("cgi-bin");
        script(&dir, "ok.sh", "#!/bin/sh\n", 0o755);
        script(&dir, "noexec.sh", "#!/bin/sh\n", 0o644);
        fs::write(root.join("outside.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("outside.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink(root.join("outside.sh"), dir.join("link.sh")).unwrap();
        let cfg = CgiConfig::under_root(&root, "cgi-bin", Duration::from_secs(5)).unwrap();
        assert!(cfg.matches("/cgi-bin/ok.sh"));
        assert!(!cfg.matches("/cgi-binx/ok.sh"));
        let s = cfg.resolve("/cgi-bin/ok.sh/extra/path").unwrap();
        assert_eq!(s.script_name, "/cgi-bin/ok.sh");
        assert_eq!(s.path_info, "/extra/path");
        assert_eq!(cfg.resolve("/cgi-bin/noexec.sh"), Err(403));
        assert_eq!(cfg.resolve("/cgi-bin/missing.sh"), Err(404));
        assert_eq!(cfg.resolve("/cgi-bin/link.sh"), Err(403));
        assert_eq!(cfg.resolve("/cgi-bin/"), Err(403));
        assert!(CgiConfig::under_root(&root, "../x", Duration::from_secs(1)).is_err());
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn resolve_takes_the_longest_executable_prefix_in_nested_directories() {
        let root = tmp("nested");
        let dir = root.join("cgi-bin");
        fs::create_dir_all(dir.join("child-dir/deeper")).unwrap();
        script(&dir.join("child-dir"), "file.py", "#!/bin/sh\n", 0o755);
        script(
            &dir.join("child-dir/deeper"),
            "run.sh",
            "#!/bin/sh\n",
            0o755,
        );
        script(&dir.join("child-dir"), "data.txt", "x", 0o644);
        let cfg = CgiConfig::under_root(&root, "cgi-bin", Duration::from_secs(5)).unwrap();
        let s = cfg.resolve("/cgi-bin/child-dir/file.py/extra").unwrap();
        assert_eq!(s.path, dir.join("child-dir/file.py"));
        assert_eq!(s.script_name, "/cgi-bin/child-dir/file.py");
        assert_eq!(s.path_info, "/extra");
        let s = cfg.resolve("/cgi-bin/child-dir/deeper/run.sh").unwrap();
        assert_eq!(s.script_name, "/cgi-bin/child-dir/deeper/run.sh");
        assert_eq!(s.path_info, "");
        assert_eq!(cfg.resolve("/cgi-bin/child-dir"), Err(403));
        assert_eq!(cfg.resolve("/cgi-bin/child-dir/"), Err(403));
        assert_eq!(cfg.resolve("/cgi-bin/child-dir/data.txt/x"), Err(403));
        assert_eq!(cfg.resolve("/cgi-bin/child-dir/nope.py/x"), Err(404));
        assert_eq!(cfg.resolve("/cgi-bin/.hidden/x"), Err(403));
        assert_eq!(cfg.resolve("/cgi-bin/a\rb"), Err(400));
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn meta_variables_follow_rfc3875() {
        let req = Request::new("POST", "/cgi-bin/s.py/a/b?x=1&y=%20")
            .with_header("Host", "example.org:8080")
            .with_header("Content-Type", "text/plain")
            .with_header("Content-Length", "5")
            .with_header("X-Thing", "a")
            .with_header("x-thing", "b")
            .with_header("Proxy", "evil")
            .with_header("X_Under", "no")
            .with_body("hello");
        let script = CgiScript {
            path: PathBuf::from("/srv/cgi-bin/s.py"),
            script_name: "/cgi-bin/s.py".into(),
            path_info: "/a/b".into(),
        };
        let facts = ServerFacts {
            software: "netreactor",
            root: Path::new("/srv"),
            local: Some("127.0.0.1:8080".parse().unwrap()),
            peer: Some("127.0.0.2:5555".parse().unwrap()),
            https: false,
        };
        let env = meta_variables(&req, &script, &facts, Some(5));
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(get("REQUEST_METHOD").as_deref(), Some("POST"));
        assert_eq!(get("QUERY_STRING").as_deref(), Some("x=1&y=%20"));
        assert_eq!(get("CONTENT_LENGTH").as_deref(), Some("5"));
        assert_eq!(get("CONTENT_TYPE").as_deref(), Some("text/plain"));
        assert_eq!(get("PATH_INFO").as_deref(), Some("/a/b"));
        assert_eq!(get("PATH_TRANSLATED").as_deref(), Some("/srv/a/b"));
        assert_eq!(get("SCRIPT_NAME").as_deref(), Some("/cgi-bin/s.py"));
        assert_eq!(get("SERVER_NAME").as_deref(), Some("example.org"));
        assert_eq!(get("SERVER_PORT").as_deref(), Some("8080"));
        assert_eq!(get("SERVER_PROTOCOL").as_deref(), Some("HTTP/1.1"));
        assert_eq!(get("REMOTE_ADDR").as_deref(), Some("127.0.0.2"));
        assert_eq!(get("REMOTE_PORT").as_deref(), Some("5555"));
        assert_eq!(get("GATEWAY_INTERFACE").as_deref(), Some("CGI/1.1"));
        assert_eq!(get("HTTP_X_THING").as_deref(), Some("a, b"));
        assert_eq!(get("HTTP_HOST").as_deref(), Some("example.org:8080"));
        assert_eq!(get("HTTP_PROXY"), None);
        assert_eq!(get("HTTP_X_UNDER"), None);
        assert_eq!(get("HTTP_CONTENT_TYPE"), None);
    }
}
