//! Incremental UTF-8 validation for text messages that arrive in pieces (fragments, and
//! partially received frames), failing on the first byte that can no longer be valid.

/// Validates a byte stream piece by piece. Keeps at most three bytes of an unfinished
/// character between pieces.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// The unfinished character's bytes (a character is at most four, so three are kept).
    pending: [u8; 3],
    len: u8,
}

/// The text is not UTF-8 (RFC 6455 close code 1007).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Checks the next piece. Errors as soon as a byte makes the text invalid, even when the
    /// character it belongs to is not complete yet (`F4 90`, `ED A0`, `C0` fail at once).
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.len > 0 {
            let have = self.len as usize;
            let need = width(self.pending[0]) - have;
            let take = need.min(data.len());
            let mut char = [0u8; 4];
            char[..have].copy_from_slice(&self.pending[..have]);
            char[have..have + take].copy_from_slice(&data[..take]);
            match std::str::from_utf8(&char[..have + take]) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still unfinished, so shorter than its width: at most three bytes.
                    self.pending[..have + take].copy_from_slice(&char[..have + take]);
                    self.len = (have + take) as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            data = &data[take..];
        }
        // The common case, valid text, at SIMD speed; the standard library's error then
        // says where a piece stops (an unfinished character) or fails.
        if simdutf8::basic::from_utf8(data).is_ok() {
            return Ok(());
        }
        match std::str::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(InvalidUtf8),
                None => {
                    let rest = &data[e.valid_up_to()..];
                    self.pending[..rest.len()].copy_from_slice(rest);
                    self.len = rest.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// True when no character is left unfinished (call at the end of the message).
    pub fn is_complete(&self) -> bool {
        self.len == 0
    }

    /// Back to the start of a message.
    pub fn reset(&mut self) {
        self.len = 0;
    }
}

/// Length of the sequence a lead byte starts (1 for bytes that cannot lead: the validator
/// rejects them anyway).
fn width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all_splits(bytes: &[u8]) -> Option<usize> {
        // Returns the first byte count after which the validator failed, the same for every
        // way of splitting the input in two and three.
        let whole = std::str::from_utf8(bytes).is_ok();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut v = Utf8Validator::new();
                let ok = v.feed(&bytes[..i]).is_ok()
                    && v.feed(&bytes[i..j]).is_ok()
                    && v.feed(&bytes[j..]).is_ok()
                    && v.is_complete();
                assert_eq!(ok, whole, "{bytes:x?} split at {i},{j}");
            }
        }
        None
    }

    #[test]
    fn agrees_with_std_at_every_split_point() {
        let samples: &[&[u8]] = &[
            b"hello",
            "κόσμε".as_bytes(),
            "\u{10FFFF}\u{FFFF}\u{800}\u{80}".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xf0\x8f\xbf\xbf",
            b"\xed\xbf\xbf",
            b"\xff",
            b"\xce",
            b"ab\xf0\x9f\x98",
            b"\xf0\x9f\x98\x80",
        ];
        for s in samples {
            check_all_splits(s);
        }
    }

    #[test]
    fn fails_on_the_first_impossible_byte_before_the_character_ends() {
        // 6.4.x in Autobahn: the valid prefix is accepted, the first bad byte fails at once.
        let mut v = Utf8Validator::new();
        assert!(v.feed("κόσμε".as_bytes()).is_ok());
        assert_eq!(v.feed(b"\xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xed"), Ok(()));
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xc0"), Err(InvalidUtf8));
    }

    #[test]
    fn an_unfinished_character_is_incomplete() {
        let mut v = Utf8Validator::new();
        v.feed(b"a\xe2\x82").unwrap();
        assert!(!v.is_complete());
        v.feed(b"\xac").unwrap();
        assert!(v.is_complete());
    }
}
