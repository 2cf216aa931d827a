//! Server-side line editing for character mode (the server echoes), and line assembly for
//! line mode (the client edits and sends whole lines).
//!
//! Keys: printable bytes (UTF-8 included), Backspace/DEL, ^U (kill line), ^W (erase word),
//! ^C (cancel the line), ^D (quit on an empty line), CR or LF (end of line). Other control
//! characters are ignored. Output lines end in CR LF.

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

    /// Erases the last character (a whole UTF-8 sequence).
    pub fn backspace(&mut self) {
        while let Some(b) = self.line.pop() {
            if b & 0xc0 != 0x80 {
                break;
            }
        }
        self.echo(b"\x08 \x08");
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
                let before = self.line.len();
                while self.line.last() == Some(&b' ') {
                    self.line.pop();
                }
                while self.line.last().is_some_and(|&c| c != b' ') {
                    self.line.pop();
                }
                for _ in self.line.len()..before {
                    self.echo(b"\x08 \x08");
                }
            }
            0x03 => self.cancel(),
            0x04 if self.line.is_empty() => return Edit::Quit,
            0..=0x1f => {}
            _ => {
                if self.line.len() < self.max {
                    self.line.push(b);
                    self.echo(&[b]);
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
}
