//! TYPE A (RFC 959 §3.1.1.1): the conversions between the file's bare LF and the wire's
//! CRLF, chunk by chunk, with the one byte of state a chunk boundary needs.

/// LF → CRLF for bare LFs; `last_cr` carries a CR across chunk boundaries.
pub fn to_crlf(chunk: &[u8], last_cr: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 32 + 2);
    let mut prev_cr = *last_cr;
    for &b in chunk {
        if b == b'\n' && !prev_cr {
            out.push(b'\r');
        }
        out.push(b);
        prev_cr = b == b'\r';
    }
    *last_cr = prev_cr;
    out
}

/// CRLF → LF; a trailing CR is held in `cr_pending` until the next chunk (or the end).
pub fn from_crlf(chunk: &[u8], cr_pending: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len() + 1);
    for &b in chunk {
        if *cr_pending {
            *cr_pending = false;
            if b != b'\n' {
                out.push(b'\r');
            }
        }
        if b == b'\r' {
            *cr_pending = true;
        } else {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_conversion_handles_chunk_boundaries() {
        let mut cr = false;
        let mut out = to_crlf(b"a\nb\r", &mut cr);
        out.extend(to_crlf(b"\nc\n", &mut cr));
        assert_eq!(out, b"a\r\nb\r\nc\r\n");
        let mut pending = false;
        let mut back = from_crlf(b"a\r\nb\r", &mut pending);
        assert!(pending);
        back.extend(from_crlf(b"\nc\rd", &mut pending));
        assert_eq!(back, b"a\nb\nc\rd");
    }
}
