//! The chat room shared by the connections of one reactor: members, nicks, and broadcast
//! (each message encoded once; every receiver gets a clone of the same `Bytes`).
//!
//! Text from one user never reaches another's terminal raw: [`sanitize`] shows control
//! characters as `^X` (ESC as `^[`), so no escape sequence can be injected, and strips the
//! invisible characters that reorder or hide text (bidi controls, zero-width characters,
//! line and paragraph separators).
//!
//! A member who does not read cannot make the server hold unbounded output for them:
//! [`Room::broadcast`] skips members whose write queue is over the soft limit (they are told
//! how many lines they missed once they catch up) and disconnects members over the hard one.

use std::cell::Cell;
use std::net::IpAddr;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use netreactor::{ConnId, Context};

/// Clears the receiver's current line before a message (character mode).
const CLEAR_LINE: &[u8] = b"\r\x1b[K";

/// One member of the room.
#[derive(Clone, Debug)]
pub struct Member {
    /// The member's connection.
    pub id: ConnId,
    /// The member's nick.
    pub nick: String,
    /// What the member has typed so far (redrawn after incoming messages in character mode).
    pub typing: Vec<u8>,
    /// The server echoes for this member (character mode).
    pub char_mode: bool,
    /// Window size reported by NAWS (columns, rows).
    pub window: Option<(u16, u16)>,
    /// Terminal type reported by TTYPE.
    pub terminal: Option<String>,
    /// The member's address (the client's, behind a balancer with the PROXY protocol).
    pub from: Option<IpAddr>,
    /// Lines skipped because the member's write queue was over the soft limit, not yet
    /// reported to them.
    pub skipped: Cell<u32>,
}

/// The slow-consumer policy of [`Room::broadcast`]: queued output bytes above which a member
/// misses lines (`skip_above`) or is disconnected (`disconnect_above`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Above this, lines are skipped for the member (default 64 KiB).
    pub skip_above: usize,
    /// Above this, the member is disconnected (default 1 MiB): its own command output
    /// can grow its queue past the soft limit.
    pub disconnect_above: usize,
}

impl Default for QueueLimits {
    fn default() -> QueueLimits {
        QueueLimits {
            skip_above: 64 * 1024,
            disconnect_above: 1024 * 1024,
        }
    }
}

/// Why a nick was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NickError {
    /// Empty or longer than the limit.
    Length,
    /// Characters other than ASCII letters, digits, `_` and `-`, or not starting with a letter.
    Charset,
    /// Someone else has it (compared case-insensitively).
    Taken,
}

/// The room.
#[derive(Debug)]
pub struct Room {
    members: Vec<Member>,
    next_guest: u64,
    started: Instant,
    max_nick: usize,
    limits: QueueLimits,
}

impl Room {
    /// An empty room; nicks up to `max_nick` characters.
    pub fn new(max_nick: usize) -> Room {
        Room {
            members: Vec::new(),
            next_guest: 1,
            started: Instant::now(),
            max_nick,
            limits: QueueLimits::default(),
        }
    }

    /// The same room with another slow-consumer policy.
    pub fn with_queue_limits(mut self, limits: QueueLimits) -> Room {
        self.limits = limits;
        self
    }

    /// When the room opened (for `/uptime`).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Members, in joining order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Adds a member with a fresh guest nick; returns the nick.
    pub fn join(&mut self, id: ConnId) -> String {
        self.join_from(id, None)
    }

    /// [`join`](Self::join) for a member connected from `from` (shown by `/who`).
    pub fn join_from(&mut self, id: ConnId, from: Option<IpAddr>) -> String {
        let nick = loop {
            let n = format!("guest{}", self.next_guest);
            self.next_guest += 1;
            if self.by_nick(&n).is_none() {
                break n;
            }
        };
        self.members.push(Member {
            id,
            nick: nick.clone(),
            typing: Vec::new(),
            char_mode: false,
            window: None,
            terminal: None,
            from,
            skipped: Cell::new(0),
        });
        nick
    }

    /// Removes a member; returns it.
    pub fn leave(&mut self, id: ConnId) -> Option<Member> {
        let i = self.members.iter().position(|m| m.id == id)?;
        Some(self.members.remove(i))
    }

    /// A member by connection.
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// A member by nick (case-insensitive).
    pub fn by_nick(&self, nick: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.nick.eq_ignore_ascii_case(nick))
    }

    /// Renames a member after checking the nick rules; returns the old nick.
    pub fn rename(&mut self, id: ConnId, nick: &str) -> Result<String, NickError> {
        if nick.is_empty() || nick.chars().count() > self.max_nick {
            return Err(NickError::Length);
        }
        let mut chars = nick.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !first_ok
            || !nick
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(NickError::Charset);
        }
        if self.by_nick(nick).is_some_and(|m| m.id != id) {
            return Err(NickError::Taken);
        }
        let member = self.get_mut(id).ok_or(NickError::Taken)?;
        Ok(std::mem::replace(&mut member.nick, nick.to_string()))
    }

    /// Sends `text` (already sanitized) as one line to every member but `from`. The line is
    /// encoded once per terminal kind and shared; a receiver's half-typed line is redrawn.
    /// Slow consumers are skipped or disconnected (see [`QueueLimits`]); returns how many
    /// members received the line.
    pub fn broadcast<T: Copy + 'static>(
        &self,
        cx: &mut Context<'_, T>,
        from: Option<ConnId>,
        text: &str,
    ) -> usize {
        let plain = line(text, false);
        let clearing = line(text, true);
        let mut sent = 0;
        for m in self.members.iter().filter(|m| Some(m.id) != from) {
            if self.admit(cx, m) {
                let l = if m.char_mode { &clearing } else { &plain };
                self.deliver(cx, m, l.clone());
                sent += 1;
            }
        }
        sent
    }

    /// Sends `text` to one member (as [`broadcast`](Self::broadcast) does); false when the
    /// member is not there or was skipped as a slow consumer.
    pub fn tell<T: Copy + 'static>(&self, cx: &mut Context<'_, T>, to: ConnId, text: &str) -> bool {
        let Some(m) = self.members.iter().find(|m| m.id == to) else {
            return false;
        };
        if !self.admit(cx, m) {
            return false;
        }
        self.deliver(cx, m, line(text, m.char_mode));
        true
    }

    /// The slow-consumer policy for one receiver: true to send.
    fn admit<T: Copy + 'static>(&self, cx: &mut Context<'_, T>, m: &Member) -> bool {
        let queued = cx.conn(m.id).queued();
        if queued > self.limits.disconnect_above {
            tracing::info!(conn = %m.id, queued, "telnet: disconnecting a member who does not read");
            cx.conn(m.id).abort();
            return false;
        }
        if queued > self.limits.skip_above {
            m.skipped.set(m.skipped.get().saturating_add(1));
            return false;
        }
        true
    }

    /// Queues `l` for `m`: first the news of lines it missed, then the line, then its
    /// half-typed line again.
    fn deliver<T: Copy + 'static>(&self, cx: &mut Context<'_, T>, m: &Member, l: Bytes) {
        let missed = m.skipped.replace(0);
        if missed > 0 {
            let note = format!("* {missed} lines skipped: you were not reading fast enough");
            cx.conn(m.id).write(line(&note, m.char_mode));
        }
        cx.conn(m.id).write(l);
        if m.char_mode && !m.typing.is_empty() {
            cx.conn(m.id).write(redraw(&m.typing));
        }
    }
}

/// The receiver's own half-typed line, drawn again after a message (IAC doubled).
fn redraw(typing: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(typing.len() + 2);
    super::parse::escape(typing, &mut out);
    Bytes::from(out)
}

/// One output line: optional line clearing, the text with IAC doubled, CR LF.
pub fn line(text: &str, clear: bool) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 8);
    if clear {
        out.extend_from_slice(CLEAR_LINE);
    }
    // Sanitized text is valid UTF-8 without 0xFF bytes, but escape anyway: cheap and safe.
    let mut escaped = Vec::with_capacity(text.len());
    super::parse::escape(text.as_bytes(), &mut escaped);
    out.extend_from_slice(&escaped);
    out.extend_from_slice(b"\r\n");
    out.freeze()
}

/// Makes user input safe to show on other terminals: invalid UTF-8 replaced, control
/// characters (C0, DEL) shown as `^X`, C1 controls as `\u{fffd}`; removed: bidi controls
/// (U+202A-202E, U+2066-2069, U+200E/200F, U+061C: they reorder what follows, so
/// `abc\u{202e}gnp.exe` would show as `abcexe.png`), zero-width characters (U+200B-200D,
/// U+2060, U+FEFF: they hide text or make look-alike nicks) and line and paragraph
/// separators (U+2028/2029: a line break inside a chat line).
pub fn sanitize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c as u32 {
            0..=0x1f => {
                out.push('^');
                out.push((b'@' + c as u8) as char);
            }
            0x7f => out.push_str("^?"),
            0x80..=0x9f => out.push('\u{fffd}'),
            0x202A..=0x202E | 0x2066..=0x2069 | 0x200E | 0x200F | 0x061C => {}
            0x200B..=0x200D | 0x2060 | 0xFEFF => {}
            0x2028 | 0x2029 => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_cannot_reach_other_terminals() {
        assert_eq!(sanitize(b"hi\x1b[2J\x07"), "hi^[[2J^G");
        assert_eq!(sanitize(b"a\x7fb\xc2\x9bc"), "a^?b\u{fffd}c");
        assert_eq!(sanitize(b"bad \xff utf8"), "bad \u{fffd} utf8");
        assert_eq!(sanitize("caf\u{e9}".as_bytes()), "caf\u{e9}");
    }

    #[test]
    fn bidi_zero_width_and_separator_characters_are_stripped() {
        assert_eq!(sanitize("abc\u{202e}gnp.exe".as_bytes()), "abcgnp.exe");
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}', '\u{200b}', '\u{200c}',
            '\u{200d}', '\u{2060}', '\u{feff}', '\u{2028}', '\u{2029}',
        ] {
            let input = format!("a{c}b");
            assert_eq!(sanitize(input.as_bytes()), "ab", "U+{:04X}", c as u32);
        }
        // Ordinary non-ASCII text is untouched.
        assert_eq!(sanitize("日本語 ¡olé! Ω".as_bytes()), "日本語 ¡olé! Ω");
    }

    #[test]
    fn nick_rules() {
        let mut room = Room::new(8);
        let h = &mut netreactor::testing::Harness::new();
        struct Nop;
        impl netreactor::Protocol for Nop {
            fn on_data(&mut self, _: &mut Context<'_>, _: &mut bytes::BytesMut) {}
        }
        let (a, b) = (h.open(Nop), h.open(Nop));
        room.join(a);
        room.join(b);
        assert_eq!(room.rename(a, "alice"), Ok("guest1".into()));
        assert_eq!(room.rename(b, "ALICE"), Err(NickError::Taken));
        assert_eq!(room.rename(b, ""), Err(NickError::Length));
        assert_eq!(room.rename(b, "waytoolongnick"), Err(NickError::Length));
        assert_eq!(room.rename(b, "9lives"), Err(NickError::Charset));
        assert_eq!(room.rename(b, "bob sm"), Err(NickError::Charset));
        assert_eq!(room.rename(b, "bob_2"), Ok("guest2".into()));
        assert_eq!(
            room.rename(a, "Alice"),
            Ok("alice".into()),
            "changing one's own case is fine"
        );
    }
}
