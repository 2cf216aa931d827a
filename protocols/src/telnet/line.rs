//! Server-side line editing for character mode (the server echoes), and line assembly for
//! line mode (the client edits and sends whole lines).
//!
//! Keys: printable bytes (UTF-8 included), Backspace/DEL, ^U (kill line), ^W (erase word),
//! ^C (cancel the line), ^D (quit on an empty line), CR or LF (end of line). Other control
//! characters (but NUL and ^D on a non-empty line, which are ignored) are kept in the line
//! and echoed as `^X`; the chat shows them to others the same way (see
//! [`sanitize`](super::chat::sanitize)). Output lines end in CR LF.
//!
//! Erasing echoes the erased characters' display width ([`width`](super::width::width)):
//! two cells for a wide character or a `^X`, and a character's combining marks go with it,
//! so the screen always shows what the buffer holds.

/// What a key did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Nothing to do (or only echo, see [`LineEditor::take_echo`]).
    None,
    /// A finished line (without its line ending).
    Line(Vec<u8>),
    /// The user quit (^D on an empty line).
    Quit,
}

/// The line being typed by one user.
#[derive(Clone, Debug, Default)]
pub struct LineEditor {
    line: Vec<u8>,
    max: usize,
    echo: Vec<u8>,
    /// Echo typed keys back (character mode: the server has WILL ECHO accepted).
    pub echoing: bool,
    /// A key was refused because the line is full.
    pub overflowed: bool,
}

impl LineEditor {
    /// An editor for lines of at most `max` bytes.
    pub fn new(max: usize) -> LineEditor {
        LineEditor {
            max,
            ..LineEditor::default()
        }
    }

    /// The partial line.
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Echo produced since the last call (empty unless `echoing`).
    pub fn take_echo(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.echo)
    }

    fn echo(&mut self, bytes: &[u8]) {
        if self.echoing {
            self.echo.extend_from_slice(bytes);
        }
    }

    /// Removes the last character (a whole UTF-8 sequence; a byte that does not end one,
    /// alone) and returns its display width.
    fn pop_char(&mut self) -> Option<usize> {
        let n = self.line.len();
        if n == 0 {
            return None;
        }
        let mut start = n - 1;
        while start > 0 && n - start < 4 && self.line[start] & 0xc0 == 0x80 {
            start -= 1;
        }
        let w = match std::str::from_utf8(&self.line[start..]) {
            Ok(s) => s.chars().next().map_or(1, super::width::width),
            Err(_) => {
                start = n - 1;
                1
            }
        };
        self.line.truncate(start);
        Some(w)
    }

    /// Echoes the erasing of `cells` cells (back, blank, back).
    fn erase_cells(&mut self, cells: usize) {
        if cells > 0 {
            let mut e = Vec::with_capacity(cells * 3);
            e.extend(std::iter::repeat_n(b'\x08', cells));
            e.extend(std::iter::repeat_n(b' ', cells));
            e.extend(std::iter::repeat_n(b'\x08', cells));
            self.echo(&e);
        }
    }

    /// Erases the last character with its combining marks, and as many cells as it took.
    pub fn backspace(&mut self) {
        let mut cells = 0;
        while let Some(w) = self.pop_char() {
            cells += w;
            if w > 0 {
                break;
            }
        }
        self.erase_cells(cells);
    }

    /// Erases the whole line (^U, Telnet EL).
    pub fn kill(&mut self) {
        if !self.line.is_empty() {
            self.line.clear();
            self.echo(b"\r\x1b[K");
        }
    }

    /// Cancels the line (^C, Telnet IP).
    pub fn cancel(&mut self) {
        self.line.clear();
        self.echo(b"^C\r\n");
    }

    /// Feeds one byte of NVT data.
    pub fn key(&mut self, b: u8) -> Edit {
        match b {
            b'\r' | b'\n' => {
                self.echo(b"\r\n");
                return Edit::Line(std::mem::take(&mut self.line));
            }
            0x08 | 0x7f => {
                if !self.line.is_empty() {
                    self.backspace();
                }
            }
            0x15 => self.kill(),
            0x17 => {
                let mut cells = 0;
                while self.line.last() == Some(&b' ') {
                    self.line.pop();
                    cells += 1;
                }
                while self.line.last().is_some_and(|&c| c != b' ') {
                    cells += self.pop_char().unwrap_or(0);
                }
                self.erase_cells(cells);
            }
            0x03 => self.cancel(),
            0x04 if self.line.is_empty() => return Edit::Quit,
            0x00 | 0x04 => {}
            _ => {
                if self.line.len() < self.max {
                    self.line.push(b);
                    if b < 0x20 {
                        self.echo(&[b'^', b + 0x40]);
                    } else {
                        self.echo(&[b]);
                    }
                } else {
                    self.overflowed = true;
                    self.echo(b"\x07");
                }
            }
        }
        Edit::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keys: &[u8]) -> (Vec<Edit>, LineEditor) {
        let mut e = LineEditor::new(16);
        e.echoing = true;
        let edits = keys
            .iter()
            .map(|&k| e.key(k))
            .filter(|x| *x != Edit::None)
            .collect();
        (edits, e)
    }

    #[test]
    fn backspace_kill_and_erase_word() {
        assert_eq!(
            typed(b"helo\x7flo\r").0,
            vec![Edit::Line(b"hello".to_vec())]
        );
        assert_eq!(typed(b"abc\x15xyz\r").0, vec![Edit::Line(b"xyz".to_vec())]);
        assert_eq!(
            typed(b"one two \x17three\r").0,
            vec![Edit::Line(b"one three".to_vec())]
        );
        assert_eq!(
            typed("caf\u{e9}\x08e\r".as_bytes()).0,
            vec![Edit::Line(b"cafe".to_vec())]
        );
    }

    #[test]
    fn control_c_cancels_and_control_d_quits_only_on_an_empty_line() {
        assert_eq!(typed(b"oops\x03ok\r").0, vec![Edit::Line(b"ok".to_vec())]);
        assert_eq!(typed(b"x\x04\x15\x04").0, vec![Edit::Quit]);
    }

    #[test]
    fn echo_follows_the_keys_and_lines_end_in_crlf() {
        let (_, mut e) = typed(b"ab\x7fc\r");
        assert_eq!(e.take_echo(), b"ab\x08 \x08c\r\n");
    }

    #[test]
    fn a_full_line_refuses_more_with_a_bell() {
        let (_, mut e) = typed(&[b'x'; 20]);
        assert_eq!(e.line().len(), 16);
        assert!(e.overflowed);
        assert!(e.take_echo().ends_with(b"\x07"));
    }

    #[test]
    fn without_echo_nothing_is_echoed() {
        let mut e = LineEditor::new(8);
        e.key(b'a');
        assert!(e.take_echo().is_empty());
    }

    /// What a terminal shows after `echo`: a grid of cells (a wide character takes its cell
    /// and the next, a combining mark joins the previous cell, `\x08` moves back, writing
    /// over half of a wide character blanks both halves).
    fn screen(echo: &[u8]) -> String {
        let mut cells: Vec<String> = Vec::new();
        let mut at: usize = 0;
        let put = |cells: &mut Vec<String>, at: usize, s: String| {
            while cells.len() <= at {
                cells.push(" ".into());
            }
            if cells[at].is_empty() && at > 0 {
                cells[at - 1] = " ".into(); // the right half of a wide character
            }
            if cells.get(at + 1).is_some_and(|c| c.is_empty()) {
                cells[at + 1] = " ".into(); // the left half of one
            }
            cells[at] = s;
        };
        for c in String::from_utf8_lossy(echo).chars() {
            match c {
                '\x08' => at = at.saturating_sub(1),
                _ => match crate::telnet::width::width(c) {
                    0 => {
                        if let Some(prev) = cells[..at].iter_mut().rev().find(|c| !c.is_empty()) {
                            prev.push(c);
                        }
                    }
                    w => {
                        put(&mut cells, at, c.to_string());
                        if w == 2 {
                            put(&mut cells, at + 1, String::new());
                        }
                        at += w;
                    }
                },
            }
        }
        cells.concat().trim_end().to_string()
    }

    /// The buffer as the editor displays it (controls as `^X`).
    fn shown(line: &[u8]) -> String {
        let mut out = String::new();
        for c in String::from_utf8_lossy(line).chars() {
            match c as u32 {
                0..=0x1f => {
                    out.push('^');
                    out.push((c as u8 + 0x40) as char);
                }
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn backspace_over_wide_characters_erases_two_cells_and_the_screen_matches_the_buffer() {
        let (_, mut e) = typed("日本語\x7f\x7f".as_bytes());
        assert_eq!(e.line(), "日".as_bytes());
        let echo = e.take_echo();
        assert!(
            echo.ends_with(b"\x08\x08  \x08\x08\x08\x08  \x08\x08"),
            "{echo:?}"
        );
        assert_eq!(screen(&echo), "日");
    }

    #[test]
    fn the_screen_agrees_with_the_buffer_whatever_is_erased() {
        for keys in [
            "日本語\x7f\x7f",
            "ab日c\x7f\x7f",
            "cafe\u{301}\x7fx",
            "e\u{301}\u{302}\x7f",
            "😀 ok\x17\x17",
            "Ａｂｃ x\x17",
            "tab\there\x7f\x7f\x7f",
            "esc\x1b[2J\x7f",
            "한국어 텍스트\x17",
        ] {
            let mut e = LineEditor::new(64);
            e.echoing = true;
            for &b in keys.as_bytes() {
                e.key(b);
            }
            let echo = e.take_echo();
            assert_eq!(screen(&echo), shown(e.line()).trim_end(), "{keys:?}");
        }
    }

    #[test]
    fn control_characters_are_kept_and_echoed_as_caret_letters() {
        let (edits, _) = typed(b"a\x1b[31mb\x07\r");
        assert_eq!(edits, vec![Edit::Line(b"a\x1b[31mb\x07".to_vec())]);
        let (_, mut e) = typed(b"a\x1bb");
        assert_eq!(e.take_echo(), b"a^[b");
        // NUL and a ^D inside a line are no-ops.
        assert_eq!(typed(b"a\x00\x04b\r").0, vec![Edit::Line(b"ab".to_vec())]);
    }
}
