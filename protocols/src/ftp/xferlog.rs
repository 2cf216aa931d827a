//! What a finished transfer leaves for operations: the server's transfer counters and a
//! line in the xferlog (the wu-ftpd/ProFTPD format):
//!
//! `current-time transfer-time remote-host file-size filename transfer-type
//! special-action-flag direction access-mode username service-name authentication-method
//! authenticated-user-id completion-status`
//!
//! e.g. `Tue Oct 10 13:55:36 2000 1 127.0.0.1 1024 /pub/a.txt b _ o r alice ftp 0 * c`.
//! Times are UTC; directory listings are neither logged nor counted.

use std::io::Write;
use std::time::Instant;

use netreactor::Context;

use super::conn::{FtpConn, FtpTimer};
use super::data::{Job, Transfer};
use super::users::is_anonymous_name;
use crate::ops::log::push_escaped;

/// A file transfer's name and start, for its log line.
#[derive(Debug)]
pub struct XferStart {
    /// The file's path as the client sees it.
    pub path: String,
    /// When it began.
    pub at: Instant,
}

impl FtpConn {
    /// Transfer `t` ended, completed (226) or not.
    pub(super) fn log_transfer(&self, cx: &Context<'_, FtpTimer>, t: &Transfer, ok: bool) {
        let Some(start) = &t.logged else { return };
        let upload = matches!(t.job, Job::Receive { .. });
        let bytes = match &t.job {
            Job::SendFile { len, .. } if ok => *len,
            _ => t.progress,
        };
        let config = &self.shared.config;
        if let Some(c) = &config.counters {
            let (tls, dir) = (cx.is_tls() as usize, usize::from(!upload));
            if ok {
                c.transfers[tls][dir].add(1);
                c.bytes[tls][dir].add(bytes);
            } else {
                c.failed[tls][dir].add(1);
            }
        }
        let Some(log) = &config.xferlog else { return };
        let secs = cx.now().saturating_duration_since(start.at).as_secs();
        let host = cx.peer_addr().map(|a| a.ip());
        let user = self.session.user().unwrap_or("-");
        let anonymous = is_anonymous_name(user);
        let ascii = matches!(t.job, Job::SendAscii { .. })
            || matches!(t.job, Job::Receive { ascii: true, .. });
        log.line(|out, stamp| {
            let _ = write!(out, "{stamp} {secs} ");
            match host {
                Some(ip) => {
                    let _ = write!(out, "{ip}");
                }
                None => out.push(b'-'),
            }
            let _ = write!(out, " {bytes} ");
            // The format is space-separated: spaces in a name are escaped like the rest.
            for &b in start.path.as_bytes() {
                if b == b' ' {
                    out.extend_from_slice(b"\\x20");
                } else {
                    push_escaped(out, &[b]);
                }
            }
            let kind = if ascii { 'a' } else { 'b' };
            let dir = if upload { 'i' } else { 'o' };
            let mode = if anonymous { 'a' } else { 'r' };
            let _ = write!(out, " {kind} _ {dir} {mode} ");
            push_escaped(out, user.replace(' ', "_").as_bytes());
            let done = if ok { 'c' } else { 'i' };
            let _ = writeln!(out, " ftp 0 * {done}");
        });
    }
}
