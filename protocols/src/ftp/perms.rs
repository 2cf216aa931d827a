//! pyftpdlib's permission letters `elradfmwMT` and the commands each one allows.
//!
//! | letter | allows |
//! |---|---|
//! | `e` | CWD, CDUP |
//! | `l` | LIST, NLST, STAT (with a path), MLSD, MLST, SIZE, MDTM |
//! | `r` | RETR |
//! | `a` | APPE |
//! | `d` | DELE, RMD |
//! | `f` | RNFR, RNTO |
//! | `m` | MKD |
//! | `w` | STOR, STOU |
//! | `M` | SITE CHMOD |
//! | `T` | MFMT |
//!
//! A command whose letter the user lacks is answered with 550.
//!
//! ```
//! use netreactor_protocols::ftp::perms::{Perm, Perms};
//!
//! let p: Perms = "elr".parse().unwrap();
//! assert!(p.has(Perm::Read) && !p.has(Perm::Write));
//! assert_eq!(p.to_string(), "elr");
//! ```

use std::fmt;
use std::str::FromStr;

use super::parse::Verb;

/// One permission letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Perm {
    /// `e`: change directory.
    ChangeDir,
    /// `l`: list and inspect.
    List,
    /// `r`: retrieve files.
    Read,
    /// `a`: append to files.
    Append,
    /// `d`: delete files and directories.
    Delete,
    /// `f`: rename.
    Rename,
    /// `m`: make directories.
    MakeDir,
    /// `w`: store files.
    Write,
    /// `M`: change file mode (SITE CHMOD).
    Chmod,
    /// `T`: change modification time (MFMT).
    SetTime,
}

const LETTERS: [(char, Perm); 10] = [
    ('e', Perm::ChangeDir),
    ('l', Perm::List),
    ('r', Perm::Read),
    ('a', Perm::Append),
    ('d', Perm::Delete),
    ('f', Perm::Rename),
    ('m', Perm::MakeDir),
    ('w', Perm::Write),
    ('M', Perm::Chmod),
    ('T', Perm::SetTime),
];

impl Perm {
    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The pyftpdlib letter.
    pub fn letter(self) -> char {
        LETTERS[self as usize].0
    }

    /// The permission a verb needs (`None`: no file-system permission involved). `SITE
    /// CHMOD` needs [`Perm::Chmod`]; the session checks that one itself.
    pub fn required_by(verb: &Verb) -> Option<Perm> {
        Some(match verb {
            Verb::Cwd | Verb::Xcwd | Verb::Cdup | Verb::Xcup => Perm::ChangeDir,
            Verb::List | Verb::Nlst | Verb::Mlsd | Verb::Mlst | Verb::Size | Verb::Mdtm => {
                Perm::List
            }
            Verb::Retr => Perm::Read,
            Verb::Appe => Perm::Append,
            Verb::Dele | Verb::Rmd | Verb::Xrmd => Perm::Delete,
            Verb::Rnfr | Verb::Rnto => Perm::Rename,
            Verb::Mkd | Verb::Xmkd => Perm::MakeDir,
            Verb::Stor | Verb::Stou => Perm::Write,
            Verb::Mfmt => Perm::SetTime,
            _ => return None,
        })
    }
}

/// A set of permission letters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Perms(u16);

impl Perms {
    /// Every letter: `elradfmwMT`.
    pub const ALL: Perms = Perms(0x3ff);

    /// Anonymous read-only access: `elr`.
    pub fn read_only() -> Perms {
        Perms(Perm::ChangeDir.bit() | Perm::List.bit() | Perm::Read.bit())
    }

    /// True when `perm` is in the set.
    pub fn has(self, perm: Perm) -> bool {
        self.0 & perm.bit() != 0
    }
}

/// An unknown permission letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPermLetter(pub char);

impl fmt::Display for BadPermLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown permission letter {:?} (use elradfmwMT)", self.0)
    }
}

impl std::error::Error for BadPermLetter {}

impl FromStr for Perms {
    type Err = BadPermLetter;
    fn from_str(s: &str) -> Result<Perms, BadPermLetter> {
        let mut p = Perms(0);
        for c in s.chars() {
            let (_, perm) = LETTERS
                .iter()
                .find(|(l, _)| *l == c)
                .ok_or(BadPermLetter(c))?;
            p.0 |= perm.bit();
        }
        Ok(p)
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (l, p) in LETTERS {
            if self.has(p) {
                write!(f, "{l}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_letter_round_trips() {
        let p: Perms = "elradfmwMT".parse().unwrap();
        assert_eq!(p, Perms::ALL);
        assert_eq!(p.to_string(), "elradfmwMT");
        assert_eq!("x".parse::<Perms>(), Err(BadPermLetter('x')));
    }

    #[test]
    fn verbs_map_to_the_issue_letters() {
        let cases: &[(&str, char)] = &[
            ("CWD", 'e'),
            ("CDUP", 'e'),
            ("LIST", 'l'),
            ("NLST", 'l'),
            ("MLSD", 'l'),
            ("MLST", 'l'),
            ("SIZE", 'l'),
            ("MDTM", 'l'),
            ("RETR", 'r'),
            ("APPE", 'a'),
            ("DELE", 'd'),
            ("RMD", 'd'),
            ("RNFR", 'f'),
            ("RNTO", 'f'),
            ("MKD", 'm'),
            ("STOR", 'w'),
            ("STOU", 'w'),
            ("MFMT", 'T'),
        ];
        for (verb, letter) in cases {
            let perm = Perm::required_by(&Verb::from_name(verb)).unwrap();
            assert_eq!(perm.letter(), *letter, "{verb}");
        }
        assert_eq!(Perm::required_by(&Verb::Pwd), None);
    }

    #[test]
    fn anonymous_is_elr() {
        assert_eq!(Perms::read_only().to_string(), "elr");
    }
}
