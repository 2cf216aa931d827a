//! Directory listings: LIST (`ls -l` lines), NLST (names), MLSD (RFC 3659 facts) over the data
//! connection, and `STAT <path>` over the control connection.
//!
//! Every listing leaves out names with control characters (a CR or LF in a name would forge
//! a line) and, unless the jail shows them, dot-files. `STAT <dir>` answers on the control
//! connection, so it is bounded: at most [`STAT_MAX_ENTRIES`] entries are read, and a last
//! line says when the listing was cut. A flood of `STAT <dir>` does not rebuild the listing
//! per command: the last one built is kept in a [`StatCache`] shared by the reactor's
//! connections and reused while the directory's mtime is unchanged, for up to
//! [`STAT_CACHE_TTL`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use super::conn::FtpConn;
use super::data::{Job, Transfer};
use super::parse::Verb;
use super::perms::Perm;
use super::reply::{multi_around, multi_body, Code};
use super::session::{io_refusal, refuse, Step};
use super::vfs;

/// Entries `STAT <dir>` reads and shows at most.
pub const STAT_MAX_ENTRIES: usize = 1000;

/// How long a `STAT <dir>` listing is reused (while the directory's mtime is unchanged).
pub const STAT_CACHE_TTL: Duration = Duration::from_secs(1);

/// The last `STAT <dir>` listing built: the reply's middle lines, ready to send.
#[derive(Debug)]
pub struct StatCache {
    dir: PathBuf,
    mtime: Option<SystemTime>,
    built: Instant,
    body: Bytes,
}

impl StatCache {
    /// The cached lines of `dir` if they are still valid at `now`.
    fn lookup(&self, dir: &Path, mtime: Option<SystemTime>, now: Instant) -> Option<Bytes> {
        let fresh = now.saturating_duration_since(self.built) < STAT_CACHE_TTL;
        (fresh && self.dir == dir && mtime.is_some() && self.mtime == mtime)
            .then(|| self.body.clone())
    }
}

/// Drops leading `ls` options (`LIST -la dir`).
pub(super) fn strip_list_options(arg: &str) -> &str {
    let mut rest = arg.trim_start();
    while rest.starts_with('-') {
        match rest.find(' ') {
            Some(i) => rest = rest[i + 1..].trim_start(),
            None => return "",
        }
    }
    rest
}

/// The lines of a listing, and whether it was cut at the cap.
struct Lines {
    lines: Vec<String>,
    truncated: bool,
}

impl FtpConn {
    /// The listing of `arg` for `verb` (LIST, NLST or MLSD); at most `cap` entries of a
    /// directory are read when given.
    fn listing_lines(&self, verb: &Verb, arg: &str, cap: Option<usize>) -> Result<Lines, Step> {
        let (virt, real) = self.resolve(arg)?;
        let meta = fs::metadata(&real).map_err(io_refusal)?;
        let now = SystemTime::now();
        let perms = self.session.perms();
        let show_hidden = self.jail().shows_hidden();
        let line = |name: &str, m: &fs::Metadata| match verb {
            Verb::Nlst => name.to_string(),
            Verb::Mlsd => vfs::mlsx_facts(name, m, perms, &self.session.facts, None),
            _ => vfs::ls_line(name, m, now),
        };
        if !meta.is_dir() {
            if *verb == Verb::Mlsd {
                return Err(refuse(Code::SyntaxErrorInParameters, "Not a directory."));
            }
            let name = if *verb == Verb::Nlst {
                arg.to_string()
            } else {
                vfs::base_name(&virt).to_string()
            };
            return Ok(Lines {
                lines: vec![line(&name, &meta)],
                truncated: false,
            });
        }
        let cap = cap.unwrap_or(usize::MAX);
        let mut truncated = false;
        let mut names: Vec<(String, std::path::PathBuf)> = Vec::new();
        for entry in fs::read_dir(&real).map_err(io_refusal)? {
            let Ok(entry) = entry else { continue };
            let Some(name) = vfs::listed_name(&entry.file_name(), show_hidden) else {
                continue;
            };
            if names.len() == cap {
                truncated = true;
                break;
            }
            names.push((name, entry.path()));
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let lines = if *verb == Verb::Nlst {
            // Names only: no stat per entry.
            names.into_iter().map(|(n, _)| n).collect()
        } else {
            names
                .iter()
                // lstat: a symlink is listed as itself, never followed out of the jail.
                .filter_map(|(n, p)| fs::symlink_metadata(p).ok().map(|m| line(n, &m)))
                .collect()
        };
        Ok(Lines { lines, truncated })
    }

    /// LIST, NLST, MLSD: the listing goes over the data connection.
    pub(super) fn cmd_listing(&mut self, verb: &Verb, arg: &str) -> Result<Bytes, Step> {
        let arg = if *verb == Verb::Mlsd {
            arg
        } else {
            strip_list_options(arg)
        };
        let listing = self.listing_lines(verb, arg, None)?;
        let mut out = String::new();
        for l in listing.lines {
            out.push_str(&l);
            out.push_str("\r\n");
        }
        Err(Step::Transfer(Box::new(Transfer::new(
            Job::SendBuffer(Bytes::from(out)),
            "Transfer complete.",
        ))))
    }

    /// `STAT <path>` (RFC 959 §4.1.3): the `ls -l` listing on the control connection, at most
    /// [`STAT_MAX_ENTRIES`] entries, from the [`StatCache`] when it is fresh.
    pub(super) fn cmd_stat_path(&mut self, arg: &str) -> Result<Bytes, Step> {
        if !self.session.perms().has(Perm::List) {
            return Err(refuse(
                Code::FileUnavailable,
                "Permission denied (needs 'l').",
            ));
        }
        let path = strip_list_options(arg);
        let (_, real) = self.resolve(path)?;
        let meta = fs::metadata(&real).map_err(io_refusal)?;
        let now = self.last_command;
        let mtime = meta.modified().ok();
        let cached = if meta.is_dir() {
            let cache = self.shared.stat_cache.borrow();
            cache.as_ref().and_then(|c| c.lookup(&real, mtime, now))
        } else {
            None
        };
        let body = match cached {
            Some(body) => body,
            None => {
                let mut listing = self.listing_lines(&Verb::List, path, Some(STAT_MAX_ENTRIES))?;
                if listing.truncated {
                    listing.lines.push(format!(
                        "(listing truncated at {STAT_MAX_ENTRIES} entries; use LIST or MLSD for all)"
                    ));
                }
                let body = multi_body(&listing.lines);
                if meta.is_dir() {
                    *self.shared.stat_cache.borrow_mut() = Some(StatCache {
                        dir: real,
                        mtime,
                        built: now,
                        body: body.clone(),
                    });
                }
                body
            }
        };
        Ok(multi_around(
            Code::FileStatus,
            &format!("Status of {}:", arg.trim()),
            &body,
            "End of status.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_options_are_dropped() {
        assert_eq!(strip_list_options("-la dir"), "dir");
        assert_eq!(strip_list_options("-l -a"), "");
        assert_eq!(strip_list_options("dir"), "dir");
    }
}
