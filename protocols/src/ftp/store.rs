//! Uploads (STOR, APPE, STOU) and opening files without blocking the reactor.
//!
//! * Every file is opened with `O_NONBLOCK | O_NOFOLLOW` and refused unless it is a regular
//!   file ([`open_regular`]): a FIFO in a home answers 550 at once instead of stopping the
//!   reactor in `open` until someone reads it.
//! * `STOR name` (and `APPE` of a new name, and `STOU`) writes to a temporary dot-file in the
//!   target's directory ([`PartFile`]) and renames it over the target once the transfer
//!   completes, as HTTP PUT does: a hard link in the home to a file outside it is replaced,
//!   never written through, and a failed or aborted upload creates nothing.
//! * `REST n` + `STOR` resumes an upload in place (as pyftpdlib and vsftpd do): the file must
//!   exist, bytes from `n` on are overwritten and the rest of the file is kept. `APPE` of an
//!   existing file appends in place. Both refuse a file with more than one hard link (550),
//!   and `REST` + `APPE` (or `STOU`) is refused with 450, as pyftpdlib answers. A `REST`
//!   offset is used up by the next transfer command, whatever its outcome.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::conn::FtpConn;
use super::data::{Job, Transfer};
use super::parse::Verb;
use super::reply::Code;
use super::session::{io_refusal, refuse, Step};
use super::vfs;

/// Opens `path` with `opts` plus `O_NONBLOCK | O_NOFOLLOW` and checks that it is a regular
/// file; anything else (a FIFO, a device, a directory) is an error, at once.
pub fn open_regular(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    let file = opts
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Not a regular file",
        ));
    }
    Ok(file)
}

/// A temporary file beside an upload's target: [`commit`](Self::commit) moves it onto the
/// target; dropped uncommitted (a failed, aborted or abandoned transfer), it is removed.
#[derive(Debug)]
pub struct PartFile {
    temp: PathBuf,
    target: PathBuf,
    /// Rename over an existing target (STOR), or link only if the name is still free (STOU).
    replace: bool,
    committed: bool,
}

/// Numbers temporary names within the process.
static NEXT_PART: AtomicU64 = AtomicU64::new(0);

impl PartFile {
    /// Creates the temporary file for `target` (whose parent directory exists); returns it
    /// open for writing.
    pub fn create(target: &Path, replace: bool) -> io::Result<(File, PartFile)> {
        let dir = target.parent().unwrap_or(Path::new("/"));
        let base = target
            .file_name()
            .map_or("upload".into(), |n| n.to_string_lossy());
        // Keep the temporary name within NAME_MAX (255 bytes).
        let mut cut = base.len().min(200);
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        let base = &base[..cut];
        loop {
            let n = NEXT_PART.fetch_add(1, Ordering::Relaxed);
            let temp = dir.join(format!(".{base}.{}-{n}.part", std::process::id()));
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            match open_regular(&temp, &mut opts) {
                Ok(file) => {
                    let part = PartFile {
                        temp,
                        target: target.to_path_buf(),
                        replace,
                        committed: false,
                    };
                    return Ok((file, part));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves the finished upload onto its target.
    pub fn commit(mut self) -> io::Result<()> {
        if self.replace {
            fs::rename(&self.temp, &self.target)?;
        } else {
            // STOU: never replace a file that appeared meanwhile.
            fs::hard_link(&self.temp, &self.target)?;
            let _ = fs::remove_file(&self.temp);
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Opens an existing regular file to write in place (`APPE`, or `STOR` after `REST offset`),
/// refusing files with more than one hard link: a link to a file outside the home must not
/// be written through.
fn open_in_place(real: &Path, append: bool, offset: u64) -> Result<File, Step> {
    let mut opts = OpenOptions::new();
    opts.write(true).append(append);
    let mut file = open_regular(real, &mut opts).map_err(io_refusal)?;
    let meta = file.metadata().map_err(io_refusal)?;
    if meta.nlink() > 1 {
        return Err(refuse(
            Code::FileUnavailable,
            "File has other hard links; not written in place.",
        ));
    }
    if offset > meta.len() {
        return Err(refuse(
            Code::InvalidRestParameter,
            "Invalid REST parameter.",
        ));
    }
    if offset > 0 {
        file.seek(SeekFrom::Start(offset)).map_err(io_refusal)?;
    }
    Ok(file)
}

impl FtpConn {
    /// STOR, APPE, STOU: checks the target and opens what the transfer writes to.
    pub(super) fn cmd_store(&mut self, verb: &Verb, arg: &str) -> Result<Bytes, Step> {
        // A REST offset applies to this command only, whatever its outcome.
        let offset = std::mem::take(&mut self.session.restart);
        if matches!(verb, Verb::Appe | Verb::Stou) && offset > 0 {
            return Err(refuse(
                Code::FileActionNotTaken,
                &format!("Can't {verb} while REST request is pending."),
            ));
        }
        if *verb == Verb::Stou {
            return self.store_unique(arg);
        }
        if arg.is_empty() {
            return Err(refuse(Code::SyntaxErrorInParameters, "Missing argument."));
        }
        let (_, real) = self.resolve(arg)?;
        let existing = match fs::symlink_metadata(&real) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_refusal(e)),
        };
        if let Some(m) = &existing {
            if m.is_dir() {
                return Err(refuse(Code::FileUnavailable, "Is a directory."));
            }
            if !m.is_file() {
                return Err(refuse(Code::FileUnavailable, "Not a regular file."));
            }
        }
        let (file, part) = match (verb, &existing) {
            (Verb::Stor, Some(_)) if offset > 0 => (open_in_place(&real, false, offset)?, None),
            (Verb::Stor, None) if offset > 0 => {
                return Err(refuse(
                    Code::FileUnavailable,
                    "No such file or directory (REST needs an existing file).",
                ))
            }
            (Verb::Appe, Some(_)) => (open_in_place(&real, true, 0)?, None),
            _ => {
                if existing.is_some() {
                    // Replace only what could be written in place: a read-only file stays.
                    open_regular(&real, OpenOptions::new().write(true)).map_err(io_refusal)?;
                }
                let (file, part) = PartFile::create(&real, true).map_err(io_refusal)?;
                if let Some(m) = &existing {
                    let _ = file.set_permissions(m.permissions());
                }
                (file, Some(part))
            }
        };
        let job = Job::Receive {
            file: Some(file),
            part,
            ascii: self.session.ascii,
            cr_pending: false,
        };
        Err(Step::Transfer(Box::new(Transfer::new(
            job,
            "Transfer complete.",
        ))))
    }

    /// STOU (RFC 959 §4.1.3, RFC 1123 §4.1.2.9): a name no file has, announced as
    /// `150 FILE: <name>`.
    fn store_unique(&mut self, arg: &str) -> Result<Bytes, Step> {
        let base = vfs::normalize(&self.session.cwd, if arg.is_empty() { "ftp" } else { arg });
        let mut found = None;
        for i in 0..100u32 {
            let candidate = if i == 0 && !arg.is_empty() {
                base.clone()
            } else {
                format!("{base}.{i}")
            };
            let (virt, real) = self.resolve(&candidate)?;
            if fs::symlink_metadata(&real).is_err() {
                found = Some((virt, real));
                break;
            }
        }
        let Some((virt, real)) = found else {
            return Err(refuse(
                Code::FileNameNotAllowed,
                "No unique name available.",
            ));
        };
        let (file, part) = PartFile::create(&real, false).map_err(io_refusal)?;
        let name = vfs::base_name(&virt).to_string();
        let job = Job::Receive {
            file: Some(file),
            part: Some(part),
            ascii: self.session.ascii,
            cr_pending: false,
        };
        let mut t = Transfer::new(
            job,
            format!("Transfer complete (unique file name: {name})."),
        );
        t.opening = Some(format!("FILE: {name}"));
        Err(Step::Transfer(Box::new(t)))
    }
}
