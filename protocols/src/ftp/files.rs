//! The path commands: CWD, MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT, MLST, SITE CHMOD,
//! and RETR. Every client path goes through `resolve`: normalised, mapped into
//! the jail, refused when it escapes, names a dot-file (unless shown) or holds a control
//! character.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::rc::Rc;

use bytes::Bytes;

use super::conn::FtpConn;
use super::data::{Job, Transfer};
use super::perms::Perm;
use super::reply::{multi, quote_path, single, Code};
use super::session::{io_refusal, refuse, vfs_refusal, Login, Pending, Step};
use super::store::open_regular;
use super::vfs::{self, Jail};

impl FtpConn {
    pub(super) fn jail(&self) -> &Jail {
        match &self.session.login {
            Login::LoggedIn { jail, .. } => jail,
            _ => unreachable!("path commands run only when logged in"),
        }
    }

    /// Resolves a client path: (virtual, real).
    pub(super) fn resolve(&self, arg: &str) -> Result<(String, PathBuf), Step> {
        let virt = vfs::normalize(&self.session.cwd, arg);
        let real = self
            .jail()
            .real(&virt)
            .map_err(|e| Step::Refuse(vfs_refusal(e)))?;
        Ok((virt, real))
    }

    pub(super) fn need_arg(arg: &str) -> Result<(), Step> {
        if arg.is_empty() {
            Err(refuse(Code::SyntaxErrorInParameters, "Missing argument."))
        } else {
            Ok(())
        }
    }

    pub(super) fn cmd_cwd(&mut self, arg: &str) -> Result<Bytes, Step> {
        Self::need_arg(arg)?;
        let (virt, real) = self.resolve(arg)?;
        if !real.is_dir() {
            return Err(refuse(Code::FileUnavailable, "Not a directory."));
        }
        let text = format!("{} is the current directory.", quote_path(&virt));
        self.session.cwd = virt;
        Ok(single(Code::FileActionOkay, &text))
    }

    pub(super) fn cmd_mkd(&mut self, arg: &str) -> Result<Bytes, Step> {
        Self::need_arg(arg)?;
        let (virt, real) = self.resolve(arg)?;
        fs::create_dir(&real).map_err(io_refusal)?;
        Ok(single(
            Code::PathnameCreated,
            &format!("{} directory created.", quote_path(&virt)),
        ))
    }

    pub(super) fn cmd_rmd(&mut self, arg: &str) -> Result<Bytes, Step> {
        Self::need_arg(arg)?;
        let (virt, real) = self.resolve(arg)?;
        if virt == "/" {
            return Err(refuse(
                Code::FileUnavailable,
                "Can't remove the root directory.",
            ));
        }
        fs::remove_dir(&real).map_err(io_refusal)?;
        Ok(single(Code::FileActionOkay, "Directory removed."))
    }

    pub(super) fn cmd_dele(&mut self, arg: &str) -> Result<Bytes, Step> {
        Self::need_arg(arg)?;
        let (_, real) = self.resolve(arg)?;
        if real.is_dir() {
            return Err(refuse(Code::FileUnavailable, "Is a directory; use RMD."));
        }
        fs::remove_file(&real).map_err(io_refusal)?;
        Ok(single(Code::FileActionOkay, "File removed."))
    }

    pub(super) fn cmd_rnfr(&mut self, arg: &str) -> Result<Bytes, Step> {
        Self::need_arg(arg)?;
        let (virt, real) = self.resolve(arg)?;
        if virt == "/" {
            return Err(refuse(
                Code::FileUnavailable,
                "Can't rename the root directory.",
            ));
        }
        fs::symlink_metadata(&real).map_err(io_refusal)?;
        self.session.pending = Pending::RenameFrom { real, virt };
        Ok(single(
            Code::FileActionPending,
            "Ready for destination name.",
        ))
    }

    pub(super) fn cmd_rnto(&mut self, arg: &str) -> Result<Bytes, Step> {
        let Pending::RenameFrom { real: from, .. } =
            std::mem::replace(&mut self.session.pending, Pending::None)
        else {
            return Err(refuse(
                Code::BadSequence,
                "Bad sequence of commands: use RNFR first.",
            ));
        };
        Self::need_arg(arg)?;
        let (virt, to) = self.resolve(arg)?;
        if virt == "/" {
            return Err(refuse(
                Code::FileUnavailable,
                "Can't overwrite the root directory.",
            ));
        }
        fs::rename(&from, &to).map_err(io_refusal)?;
        Ok(single(Code::FileActionOkay, "Renaming ok."))
    }

    pub(super) fn regular_file(&self, arg: &str) -> Result<(String, PathBuf, fs::Metadata), Step> {
        Self::need_arg(arg)?;
        let (virt, real) = self.resolve(arg)?;
        let meta = fs::metadata(&real).map_err(io_refusal)?;
        if !meta.is_file() {
            return Err(refuse(Code::FileUnavailable, "Not a regular file."));
        }
        Ok((virt, real, meta))
    }

    pub(super) fn cmd_size(&mut self, arg: &str) -> Result<Bytes, Step> {
        if self.session.ascii {
            return Err(refuse(
                Code::FileUnavailable,
                "SIZE not allowed in ASCII mode.",
            ));
        }
        let (_, _, meta) = self.regular_file(arg)?;
        Ok(single(Code::FileStatus, &meta.len().to_string()))
    }

    pub(super) fn cmd_mdtm(&mut self, arg: &str) -> Result<Bytes, Step> {
        let (_, _, meta) = self.regular_file(arg)?;
        let t = meta.modified().map_err(io_refusal)?;
        Ok(single(Code::FileStatus, &vfs::format_time(t)))
    }

    pub(super) fn cmd_mfmt(&mut self, arg: &str) -> Result<Bytes, Step> {
        let Some((time, path)) = arg.split_once(' ') else {
            return Err(refuse(
                Code::SyntaxErrorInParameters,
                "Usage: MFMT YYYYMMDDHHMMSS path.",
            ));
        };
        let Some(t) = vfs::parse_time(time) else {
            return Err(refuse(Code::SyntaxErrorInParameters, "Invalid time."));
        };
        let (virt, real, _) = self.regular_file(path)?;
        let f = open_regular(&real, OpenOptions::new().read(true)).map_err(io_refusal)?;
        f.set_modified(t).map_err(io_refusal)?;
        Ok(single(
            Code::FileStatus,
            &format!("Modify={}; {}", vfs::format_time(t), virt),
        ))
    }

    pub(super) fn cmd_mlst(&mut self, arg: &str) -> Result<Bytes, Step> {
        let (virt, real) = self.resolve(arg)?;
        let meta = fs::metadata(&real).map_err(io_refusal)?;
        let facts = vfs::mlsx_facts(
            &virt,
            &meta,
            self.session.perms(),
            &self.session.facts,
            None,
        );
        Ok(multi(
            Code::FileActionOkay,
            &format!("Listing {virt}"),
            [facts],
            "End.",
        ))
    }

    pub(super) fn cmd_site(&mut self, arg: &str) -> Result<Bytes, Step> {
        let (sub, rest) = arg.trim().split_once(' ').unwrap_or((arg.trim(), ""));
        if sub.eq_ignore_ascii_case("HELP") {
            return Ok(multi(
                Code::HelpMessage,
                "The following SITE commands are recognized:",
                ["CHMOD HELP"],
                "Help SITE command successful.",
            ));
        }
        if !sub.eq_ignore_ascii_case("CHMOD") {
            return Err(refuse(
                Code::SyntaxErrorInParameters,
                "Unknown SITE command.",
            ));
        }
        if !self.session.perms().has(Perm::Chmod) {
            return Err(refuse(
                Code::FileUnavailable,
                "Permission denied (needs 'M').",
            ));
        }
        let Some((mode, path)) = rest.trim().split_once(' ') else {
            return Err(refuse(
                Code::SyntaxErrorInParameters,
                "Usage: SITE CHMOD mode path.",
            ));
        };
        let mode = u32::from_str_radix(mode, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| refuse(Code::SyntaxErrorInParameters, "Invalid mode."))?;
        Self::need_arg(path)?;
        let (_, real) = self.resolve(path)?;
        fs::set_permissions(&real, fs::Permissions::from_mode(mode)).map_err(io_refusal)?;
        Ok(single(Code::CommandOkay, "SITE CHMOD successful."))
    }

    pub(super) fn cmd_retr(&mut self, arg: &str) -> Result<Bytes, Step> {
        let (_, real, meta) = self.regular_file(arg)?;
        let file = open_regular(&real, OpenOptions::new().read(true)).map_err(io_refusal)?;
        let offset = std::mem::take(&mut self.session.restart);
        if offset > meta.len() {
            return Err(refuse(
                Code::InvalidRestParameter,
                "Invalid REST parameter.",
            ));
        }
        let job = if self.session.ascii {
            Job::SendAscii {
                file,
                offset,
                last_cr: false,
            }
        } else {
            Job::SendFile {
                file: Rc::new(file),
                offset,
                len: meta.len() - offset,
            }
        };
        Err(Step::Transfer(Box::new(Transfer::new(
            job,
            "Transfer complete.",
        ))))
    }
}
