//! Accounts: name, password, home directory and permission letters; optional anonymous
//! read-only access. Passwords are compared in constant time.
//!
//! ```
//! use netreactor_protocols::ftp::users::{User, Users};
//!
//! let mut users = Users::default();
//! users.add("foo:bar:elradfmwMT:.".parse::<User>().unwrap());
//! assert!(users.authenticate("foo", "bar").is_some());
//! assert!(users.authenticate("foo", "baz").is_none());
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::perms::Perms;

/// A user account.
#[derive(Clone, Debug)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Password (compared in constant time).
    pub password: String,
    /// Home directory: the root of this user's jail.
    pub home: PathBuf,
    /// Permission letters.
    pub perms: Perms,
}

/// What a successful login yields.
#[derive(Clone, Debug)]
pub struct Account {
    /// Login name (`anonymous` for guests).
    pub name: String,
    /// Root of the jail.
    pub home: PathBuf,
    /// Permission letters.
    pub perms: Perms,
}

/// A malformed `user:pass:perms:home` specification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadUserSpec(pub String);

impl fmt::Display for BadUserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad user {:?}: expected user:pass:perms:home", self.0)
    }
}

impl std::error::Error for BadUserSpec {}

impl FromStr for User {
    type Err = BadUserSpec;
    /// Parses `user:pass:perms:home` (the home may itself contain `:`).
    fn from_str(s: &str) -> Result<User, BadUserSpec> {
        let bad = || BadUserSpec(s.to_string());
        let mut it = s.splitn(4, ':');
        let name = it.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
        let password = it.next().ok_or_else(bad)?;
        let perms: Perms = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let home = it.next().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        if is_anonymous_name(name) {
            return Err(bad());
        }
        Ok(User {
            name: name.to_string(),
            password: password.to_string(),
            home: PathBuf::from(home),
            perms,
        })
    }
}

/// `anonymous` and `ftp` are the guest names (RFC 1635).
pub fn is_anonymous_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("anonymous") || name.eq_ignore_ascii_case("ftp")
}

/// The account database.
#[derive(Clone, Debug, Default)]
pub struct Users {
    users: Vec<User>,
    /// Anonymous read-only (`elr`) access rooted here, when enabled.
    pub anonymous: Option<PathBuf>,
}

impl Users {
    /// Adds (or replaces) a user.
    pub fn add(&mut self, user: User) {
        self.users.retain(|u| u.name != user.name);
        self.users.push(user);
    }

    /// True when no named user exists.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The named users.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.users.iter()
    }

    /// Checks a login. Unknown users cost the same comparison as known ones, so timing does
    /// not reveal which names exist.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<Account> {
        if is_anonymous_name(name) {
            return self.anonymous.as_ref().map(|home| Account {
                name: "anonymous".to_string(),
                home: home.clone(),
                perms: Perms::read_only(),
            });
        }
        let user = self.users.iter().find(|u| u.name == name);
        let expected = user.map_or("\u{0}unknown-user-dummy-password", |u| &u.password);
        let ok = constant_time_eq(expected.as_bytes(), password.as_bytes());
        match user {
            Some(u) if ok => Some(Account {
                name: u.name.clone(),
                home: u.home.clone(),
                perms: u.perms,
            }),
            _ => None,
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths, not on where they
/// differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | ((a.len() ^ b.len()) >> 8) as u8;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_spec_parses_and_rejects() {
        let u: User = "foo:bar:elr:/srv/a:b".parse().unwrap();
        assert_eq!((u.name.as_str(), u.password.as_str()), ("foo", "bar"));
        assert_eq!(u.home, PathBuf::from("/srv/a:b"));
        for bad in [
            "foo:bar:elr",
            ":x:elr:.",
            "foo:bar:xyz:.",
            "foo:bar:elr:",
            "anonymous:x:elr:.",
        ] {
            assert!(bad.parse::<User>().is_err(), "{bad}");
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"\xff"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn anonymous_only_when_enabled_and_read_only() {
        let mut users = Users::default();
        assert!(users.authenticate("anonymous", "x@y").is_none());
        users.anonymous = Some(PathBuf::from("."));
        let a = users.authenticate("ftp", "").unwrap();
        assert_eq!(a.perms.to_string(), "elr");
        assert!(users.authenticate("nobody", "").is_none());
    }
}
