//! The root jail and the file facts shown to clients.
//!
//! Clients see *virtual* paths: `/` is the user's home. [`normalize`] joins a client path to
//! the current directory and folds `.` and `..` lexically (`..` at `/` stays at `/`), so no
//! virtual path names anything above the home. [`Jail::real`] then maps it onto the disk
//! and canonicalises it: a symlink whose target lies outside the home is refused
//! ([`VfsError::Escape`]), as is a dangling link (it could be created outside by a write).
//! Names with control characters are refused ([`VfsError::BadName`]): a CR or LF in a name
//! could forge a reply or listing line. Dot-files and dot-directories are hidden unless the
//! jail is built with [`Jail::show_hidden`]: a path through one is [`VfsError::Hidden`], and
//! [`listed_name`] leaves them (and names with control characters) out of listings.
//!
//! Listings: [`ls_line`] (`ls -l` format for LIST), [`mlsx_facts`] (RFC 3659 §7 facts for
//! MLSD/MLST), and [`format_time`]/[`parse_time`] for MDTM/MFMT (`YYYYMMDDHHMMSS`, UTC).
//!
//! ```
//! use netreactor_protocols::ftp::vfs::normalize;
//!
//! assert_eq!(normalize("/pub", "../../etc/passwd"), "/etc/passwd");
//! assert_eq!(normalize("/pub", "/a/./b//c/.."), "/a/b");
//! ```

use std::fmt;
use std::fs::Metadata;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::perms::{Perm, Perms};
use crate::ops::time::civil_from_days;

/// Why a path cannot be used.
#[derive(Debug)]
pub enum VfsError {
    /// It resolves outside the jail (through a symlink).
    Escape,
    /// It contains a control character (NUL, CR, LF, any byte below 0x20, DEL).
    BadName,
    /// It names (or passes through) a dot-file or dot-directory, hidden by default.
    Hidden,
    /// A file-system error (not found, permission denied...).
    Io(io::Error),
}

impl fmt::Display for VfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VfsError::Escape => f.write_str("Permission denied (outside the root)"),
            VfsError::BadName => f.write_str("File name not allowed"),
            VfsError::Hidden => f.write_str("No such file or directory"),
            VfsError::Io(e) => match e.kind() {
                io::ErrorKind::NotFound => f.write_str("No such file or directory"),
                io::ErrorKind::PermissionDenied => f.write_str("Permission denied"),
                io::ErrorKind::AlreadyExists => f.write_str("File exists"),
                _ => write!(f, "{}", strip_os_error(e)),
            },
        }
    }
}

/// `io::Error` text without the "(os error N)" suffix.
fn strip_os_error(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl From<io::Error> for VfsError {
    fn from(e: io::Error) -> VfsError {
        VfsError::Io(e)
    }
}

/// Joins `arg` to the virtual directory `cwd` and folds `.`, `..` and repeated `/`. The
/// result is absolute and never rises above `/`.
pub fn normalize(cwd: &str, arg: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined: [&str; 2] = if arg.starts_with('/') {
        ["", arg]
    } else {
        [cwd, arg]
    };
    for piece in joined.iter().flat_map(|s| s.split('/')) {
        match piece {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = String::with_capacity(arg.len() + cwd.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The last component of a virtual path (`/` for the root).
pub fn base_name(virt: &str) -> &str {
    virt.rsplit('/').find(|s| !s.is_empty()).unwrap_or("/")
}

/// True for names no client may create or see: any control character (below 0x20, and DEL).
pub fn has_control(name: &str) -> bool {
    name.bytes().any(|b| b < 0x20 || b == 0x7f)
}

/// True for a dot-file or dot-directory name (`.git`, `.env`).
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.') && name != "." && name != ".."
}

/// The name a listing shows for directory entry `name`, or `None` to leave it out: names
/// with control characters always (one could forge a listing line), dot-files unless
/// `show_hidden`. Names that are not UTF-8 are shown with U+FFFD.
pub fn listed_name(name: &std::ffi::OsStr, show_hidden: bool) -> Option<String> {
    let name = name.to_string_lossy();
    if has_control(&name) || (!show_hidden && is_hidden(&name)) {
        return None;
    }
    Some(name.into_owned())
}

/// A user's root jail.
#[derive(Clone, Debug)]
pub struct Jail {
    root: PathBuf,
    show_hidden: bool,
}

impl Jail {
    /// A jail rooted at `home` (canonicalised now; it must exist), hiding dot-files.
    pub fn new(home: &Path) -> io::Result<Jail> {
        Ok(Jail {
            root: home.canonicalize()?,
            show_hidden: false,
        })
    }

    /// Serves dot-files and dot-directories too (`yes`), or hides them (the default).
    pub fn show_hidden(mut self, yes: bool) -> Jail {
        self.show_hidden = yes;
        self
    }

    /// True when dot-files are served.
    pub fn shows_hidden(&self) -> bool {
        self.show_hidden
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Refuses a real path below the root that passes through a dot-name (a visible symlink
    /// to `.git` included), unless hidden names are served.
    fn check_hidden(&self, real: &Path) -> Result<(), VfsError> {
        if self.show_hidden {
            return Ok(());
        }
        let below = real.strip_prefix(&self.root).unwrap_or(real);
        if below
            .components()
            .any(|c| matches!(c, Component::Normal(n) if is_hidden(&n.to_string_lossy())))
        {
            return Err(VfsError::Hidden);
        }
        Ok(())
    }

    /// Maps a normalised virtual path to its real path. Existing paths are canonicalised and
    /// must stay inside the root; a path that does not exist yet must have an existing parent
    /// inside the root (and must not be a dangling symlink).
    pub fn real(&self, virt: &str) -> Result<PathBuf, VfsError> {
        let real = self.real_unchecked(virt)?;
        self.check_hidden(&real)?;
        Ok(real)
    }

    fn real_unchecked(&self, virt: &str) -> Result<PathBuf, VfsError> {
        if has_control(virt) {
            return Err(VfsError::BadName);
        }
        if !self.show_hidden && virt.split('/').any(is_hidden) {
            return Err(VfsError::Hidden);
        }
        let mut path = self.root.clone();
        for c in Path::new(virt.trim_start_matches('/')).components() {
            match c {
                Component::Normal(n) => path.push(n),
                // `normalize` leaves none of these; refuse rather than guess.
                _ => return Err(VfsError::Escape),
            }
        }
        match path.canonicalize() {
            Ok(c) if c.starts_with(&self.root) => Ok(c),
            Ok(_) => Err(VfsError::Escape),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if path.symlink_metadata().is_ok() {
                    // A dangling symlink: writing through it could create a file anywhere.
                    return Err(VfsError::Escape);
                }
                let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                    return Err(VfsError::Io(e));
                };
                let parent = parent.canonicalize()?;
                if !parent.starts_with(&self.root) {
                    return Err(VfsError::Escape);
                }
                Ok(parent.join(name))
            }
            Err(e) => Err(VfsError::Io(e)),
        }
    }
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn civil(t: SystemTime) -> Civil {
    let s = unix_seconds(t);
    let (year, month, day) = civil_from_days(s.div_euclid(86_400));
    let rem = s.rem_euclid(86_400) as u32;
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem / 60 % 60,
        second: rem % 60,
    }
}

/// `YYYYMMDDHHMMSS` in UTC (RFC 3659 §2.3).
pub fn format_time(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Parses `YYYYMMDDHHMMSS[.sss]` (UTC); `None` when malformed or out of range.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let n = |r: std::ops::Range<usize>| main[r].parse::<u32>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    if civil_from_days(days) != (i64::from(y), mo, d) {
        return None; // 31 April and friends
    }
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    let nanos = frac.map_or(0, |f| {
        let v: u32 = f.parse().unwrap_or(0);
        v * 10u32.pow(9 - f.len() as u32)
    });
    if secs >= 0 {
        Some(UNIX_EPOCH + Duration::new(secs as u64, nanos))
    } else {
        None
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn mode_string(meta: &Metadata) -> String {
    let ft = meta.file_type();
    let mut s = String::with_capacity(10);
    s.push(if ft.is_dir() {
        'd'
    } else if ft.is_symlink() {
        'l'
    } else {
        '-'
    });
    let mode = meta.permissions().mode();
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// One `ls -l` line (no line end), as LIST sends it: mode, links, owner, group, size, date
/// (time of day within six months of `now`, else the year), name.
pub fn ls_line(name: &str, meta: &Metadata, now: SystemTime) -> String {
    let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
    let c = civil(mtime);
    let age = unix_seconds(now) - unix_seconds(mtime);
    let when = if (0..180 * 86_400).contains(&age) {
        format!("{:02}:{:02}", c.hour, c.minute)
    } else {
        format!(" {}", c.year)
    };
    format!(
        "{} {:>3} {:<8} {:<8} {:>12} {} {:>2} {:>5} {}",
        mode_string(meta),
        meta.nlink(),
        meta.uid(),
        meta.gid(),
        meta.len(),
        MONTHS[(c.month - 1) as usize],
        c.day,
        when,
        name
    )
}

/// The RFC 3659 facts MLSD/MLST can show, in FEAT order.
pub const FACTS: [&str; 6] = ["type", "size", "modify", "perm", "unique", "unix.mode"];

/// The facts of one entry, `fact=value;...; name` (RFC 3659 §7.2), restricted to
/// `selected`. `kind` overrides the type fact (`cdir`/`pdir` for `.`/`..` in MLSD).
pub fn mlsx_facts(
    name: &str,
    meta: &Metadata,
    perms: Perms,
    selected: &[bool; FACTS.len()],
    kind: Option<&str>,
) -> String {
    let mut out = String::new();
    let is_dir = meta.is_dir();
    for (i, fact) in FACTS.iter().enumerate() {
        if !selected[i] {
            continue;
        }
        match *fact {
            "type" => {
                let t = kind.unwrap_or(if is_dir { "dir" } else { "file" });
                out.push_str(&format!("type={t};"));
            }
            "size" => out.push_str(&format!("size={};", meta.len())),
            "modify" => out.push_str(&format!(
                "modify={};",
                format_time(meta.modified().unwrap_or(UNIX_EPOCH))
            )),
            "perm" => {
                out.push_str("perm=");
                let letters: &[(Perm, char)] = if is_dir {
                    &[
                        (Perm::ChangeDir, 'e'),
                        (Perm::List, 'l'),
                        (Perm::Write, 'c'),
                        (Perm::MakeDir, 'm'),
                        (Perm::Delete, 'p'),
                        (Perm::Delete, 'd'),
                        (Perm::Rename, 'f'),
                    ]
                } else {
                    &[
                        (Perm::Read, 'r'),
                        (Perm::Append, 'a'),
                        (Perm::Write, 'w'),
                        (Perm::Delete, 'd'),
                        (Perm::Rename, 'f'),
                    ]
                };
                for (p, l) in letters {
                    if perms.has(*p) {
                        out.push(*l);
                    }
                }
                out.push(';');
            }
            "unique" => out.push_str(&format!("unique={:x}g{:x};", meta.dev(), meta.ino())),
            _ => out.push_str(&format!(
                "unix.mode=0{:o};",
                meta.permissions().mode() & 0o7777
            )),
        }
    }
    out.push(' ');
    out.push_str(name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_never_rises_above_root() {
        assert_eq!(normalize("/", ".."), "/");
        assert_eq!(normalize("/a/b", "../../../../x"), "/x");
        assert_eq!(normalize("/a", "b/../../.."), "/");
        assert_eq!(normalize("/a", ""), "/a");
        assert_eq!(normalize("/a", "/"), "/");
        assert_eq!(normalize("/", "a//b/./c"), "/a/b/c");
    }

    #[test]
    fn base_name_of_paths() {
        assert_eq!(base_name("/a/b"), "b");
        assert_eq!(base_name("/"), "/");
    }

    #[test]
    fn times_round_trip() {
        for s in [
            "19700101000000",
            "20000229123456",
            "20261124194200",
            "21000301000000",
        ] {
            assert_eq!(format_time(parse_time(s).unwrap()), s);
        }
        for bad in [
            "2000022912345",
            "20000230000000",
            "20001301000000",
            "2000022912345x",
            "20000101000000.",
        ] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
        assert!(parse_time("20000101000000.123").is_some());
    }

    #[test]
    fn jail_refuses_symlinks_outside() {
        let dir = std::env::temp_dir().join(format!("ftp-vfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/sub")).unwrap();
        std::fs::write(dir.join("secret"), b"x").unwrap();
        std::fs::write(dir.join("root/in"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), dir.join("root/out")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("root/dangling")).unwrap();
        std::os::unix::fs::symlink("in", dir.join("root/inside")).unwrap();
        let jail = Jail::new(&dir.join("root")).unwrap();
        assert!(jail.real("/in").is_ok());
        assert!(jail.real("/inside").is_ok());
        assert!(jail.real("/new").is_ok());
        assert!(matches!(jail.real("/out"), Err(VfsError::Escape)));
        assert!(matches!(jail.real("/dangling"), Err(VfsError::Escape)));
        assert!(matches!(jail.real("/a\0b"), Err(VfsError::BadName)));
        assert!(matches!(jail.real("/no/such"), Err(VfsError::Io(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_with_control_characters_are_refused_and_never_listed() {
        let dir = std::env::temp_dir().join(format!("ftp-vfs-ctl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let jail = Jail::new(&dir).unwrap();
        for bad in ["/a\rb", "/a\nb", "/x\x7f", "/t\tab", "/a\0b"] {
            assert!(matches!(jail.real(bad), Err(VfsError::BadName)), "{bad:?}");
        }
        assert_eq!(listed_name("a\r\nb".as_ref(), true), None);
        assert_eq!(
            listed_name("ok.txt".as_ref(), false).as_deref(),
            Some("ok.txt")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dot_names_are_hidden_unless_shown() {
        let dir = std::env::temp_dir().join(format!("ftp-vfs-dot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::os::unix::fs::symlink(".git", dir.join("visible")).unwrap();
        let jail = Jail::new(&dir).unwrap();
        assert!(matches!(jail.real("/.git"), Err(VfsError::Hidden)));
        assert!(matches!(jail.real("/.git/config"), Err(VfsError::Hidden)));
        assert!(
            matches!(jail.real("/visible"), Err(VfsError::Hidden)),
            "through a link"
        );
        assert!(matches!(jail.real("/.new"), Err(VfsError::Hidden)));
        assert_eq!(listed_name(".git".as_ref(), false), None);
        let shown = jail.show_hidden(true);
        assert!(shown.real("/.git").is_ok() && shown.real("/visible").is_ok());
        assert_eq!(listed_name(".git".as_ref(), true).as_deref(), Some(".git"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
