//! The built-in commands. Never a shell, never an external program: each is a few lines of
//! Rust acting on the room.

/// A parsed `/command`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `/help`
    Help,
    /// `/nick NAME`
    Nick(&'a str),
    /// `/who`
    Who,
    /// `/me ACTION`
    Me(&'a str),
    /// `/msg NICK TEXT`
    Msg(&'a str, &'a str),
    /// `/time`
    Time,
    /// `/uptime`
    Uptime,
    /// `/stats`
    Stats,
    /// `/quit`
    Quit,
    /// A known command with missing arguments: the usage line to show.
    Usage(&'static str),
    /// Anything else.
    Unknown(&'a str),
}

/// The `/help` text.
pub const HELP: &[&str] = &[
    "Commands:",
    "  /nick NAME      change your nick (letters, digits, _ and -; starts with a letter)",
    "  /who            list who is here",
    "  /me ACTION      say what you do",
    "  /msg NICK TEXT  send a private message",
    "  /time           the server's time (UTC)",
    "  /uptime         how long the server has run",
    "  /stats          the reactor's counters",
    "  /quit           leave (^D on an empty line does too)",
    "Anything else you type goes to everyone.",
];

/// Parses a line starting with `/`.
pub fn parse(line: &str) -> Command<'_> {
    let line = line.trim_end();
    let (name, rest) = match line.find(' ') {
        Some(i) => (&line[..i], line[i + 1..].trim()),
        None => (line, ""),
    };
    match name.to_ascii_lowercase().as_str() {
        "/help" | "/?" => Command::Help,
        "/nick" if rest.is_empty() => Command::Usage("usage: /nick NAME"),
        "/nick" => Command::Nick(rest),
        "/who" => Command::Who,
        "/me" if rest.is_empty() => Command::Usage("usage: /me ACTION"),
        "/me" => Command::Me(rest),
        "/msg" => match rest.split_once(' ') {
            Some((nick, text)) if !text.trim().is_empty() => Command::Msg(nick, text.trim()),
            _ => Command::Usage("usage: /msg NICK TEXT"),
        },
        "/time" => Command::Time,
        "/uptime" => Command::Uptime,
        "/stats" => Command::Stats,
        "/quit" | "/exit" => Command::Quit,
        _ => Command::Unknown(name),
    }
}

/// `h:mm:ss`, or `Nd h:mm:ss`.
pub fn format_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}:{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(parse("/nick  alice "), Command::Nick("alice"));
        assert_eq!(parse("/NICK"), Command::Usage("usage: /nick NAME"));
        assert_eq!(parse("/msg bob hi there"), Command::Msg("bob", "hi there"));
        assert_eq!(parse("/msg bob"), Command::Usage("usage: /msg NICK TEXT"));
        assert_eq!(parse("/me waves"), Command::Me("waves"));
        assert_eq!(parse("/rm -rf /"), Command::Unknown("/rm"));
        assert_eq!(parse("/quit"), Command::Quit);
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(59), "0:00:59");
        assert_eq!(format_duration(3 * 86400 + 3661), "3d 1:01:01");
    }
}
