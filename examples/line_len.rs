//! Answers each line with its length: the README's example, `cargo run --example line_len`,
//! then `telnet 127.0.0.1 7100`.

use netreactor::bytes::BytesMut;
use netreactor::{Context, Protocol, Reactor};

/// Answers each line with its length; keeps a partial line for the next read.
pub struct LineLen;

impl Protocol for LineLen {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        while let Some(n) = input.iter().position(|&b| b == b'\n') {
            let line = input.split_to(n + 1);
            cx.write(format!("{}\n", line.len() - 1));
        }
        if input.len() > 4096 {
            cx.write("line too long\n");
            cx.close(); // written first, then closed: this connection only
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut reactor = Reactor::new()?;
    reactor.shutdown_on_signals()?;
    reactor.listen_tcp("127.0.0.1:7100".parse().unwrap(), || LineLen)?;
    reactor.run()
}

#[cfg(test)]
mod tests {
    use super::LineLen;
    use netreactor::testing::Harness;

    #[test]
    fn answers_each_line_however_it_is_split() {
        let mut h = Harness::new();
        let c = h.open(LineLen);
        h.feed_split(c, b"hello\nwor", &[2, 4]);
        h.feed(c, b"ld\n");
        assert_eq!(h.take_output(c), b"5\n5\n");
    }
}
