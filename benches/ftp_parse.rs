//! The FTP command-line reader and parser on a realistic control-channel mix (a login, a
//! browse, transfers, a rename, an abort with Telnet bytes), whole and split into small reads.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use netreactor_protocols::ftp::parse::{parse_command, parse_port, LineEvent, LineReader};

fn session_mix() -> Vec<u8> {
    let mut wire = Vec::new();
    for i in 0..50 {
        wire.extend_from_slice(
            format!(
                "USER foo\r\nPASS bar\r\nSYST\r\nFEAT\r\nOPTS UTF8 ON\r\nPWD\r\nTYPE I\r\n\
                 CWD /pub/releases/v{i}\r\nEPSV\r\nMLSD\r\nPASV\r\nSIZE archive-{i}.tar.gz\r\n\
                 MDTM archive-{i}.tar.gz\r\nREST 1048576\r\nRETR archive-{i}.tar.gz\r\n\
                 PORT 127,0,0,1,195,{p}\r\nSTOR upload \u{e9}t\u{e9} {i}.bin\r\n\
                 RNFR upload.bin\r\nRNTO final name {i}.bin\r\n",
                p = i % 256
            )
            .as_bytes(),
        );
        // An abort as ftplib sends it: IAC IP IAC in band, then ABOR.
        wire.extend_from_slice(b"\xff\xf4\xffABOR\r\nNOOP\r\nQUIT\r\n");
    }
    wire
}

fn parse_all(wire: &[u8], read: usize) -> usize {
    let mut reader = LineReader::new();
    let mut n = 0;
    for chunk in wire.chunks(read) {
        let mut input = BytesMut::from(chunk);
        while let Some(event) = reader.next(&mut input) {
            if let LineEvent::Line(line) = event {
                if let Ok(cmd) = parse_command(&line) {
                    if cmd.verb.name() == "PORT" {
                        n += parse_port(&cmd.arg).map_or(0, |a| a.port() as usize);
                    }
                    n += cmd.arg.len() + 1;
                }
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let wire = session_mix();
    let mut g = c.benchmark_group("ftp_command_mix");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    for read in [wire.len(), 64] {
        g.bench_with_input(BenchmarkId::new("netreactor", read), &read, |b, &read| {
            b.iter(|| parse_all(std::hint::black_box(&wire), read))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
