//! `loadgen report` as a user sees it: two runs' `--hdr-log` files merged into an HTML page,
//! opened in headless Chromium. The rendered DOM must plot every marked percentile at the
//! value one histogram of both runs gives, and the screenshot must be a real PNG.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;

use bytes::BytesMut;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use netreactor::{Context, Protocol};
use netreactor_protocols::loadgen::html::MARKED;

const CHROMIUM: &str = "/usr/bin/chromium";

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

/// An echo server on a free loopback port, on its own thread; shut down when dropped.
struct Server {
    addr: SocketAddr,
    handle: netreactor::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut r = netreactor::Reactor::new().unwrap();
            let addr = r
                .listen_tcp("127.0.0.1:0".parse().unwrap(), || Echo)
                .unwrap();
            tx.send((addr, r.handle())).unwrap();
            r.run().unwrap();
        });
        let (addr, handle) = rx.recv().unwrap();
        Server {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-report-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The untagged intervals of an interval log, summed, read with the hdrhistogram crate.
fn log_histogram(path: &Path) -> Histogram<u64> {
    use base64::Engine as _;
    let text = std::fs::read(path).unwrap();
    let mut sum = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for entry in IntervalLogIterator::new(&text) {
        if let LogEntry::Interval(i) = entry.unwrap() {
            if i.tag().is_none() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(i.encoded_histogram())
                    .unwrap();
                let h: Histogram<u64> = Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
                sum.add(&h).unwrap();
            }
        }
    }
    sum
}

fn chromium(dir: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    let profile = dir.join(format!("profile-{}", extra.len()));
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
            "--window-size=1200,900",
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("headless Chromium at /usr/bin/chromium (apt-get install chromium)")
}

/// The value of attribute `name` inside one tag's text.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

#[test]
fn the_html_report_in_chromium_plots_the_merged_percentiles() {
    let server = Server::start();
    let dir = tempdir();
    let mut both = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    // Two generators started together, as on two machines: --start-at a second from now.
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 1.0;
    let mut logs = Vec::new();
    let mut runs = Vec::new();
    for (name, conns) in [("one.hlog", "5"), ("two.hlog", "50")] {
        let log = dir.join(name);
        let child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(["tcp-echo", &format!("tcp://{}", server.addr), "-c", conns])
            .args(["-d", "2", "--rate", "4000", "--progress", "0"])
            .args(["--start-at", &format!("{start_at:.3}"), "--hdr-log"])
            .arg(&log)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        runs.push(child);
        logs.push(log);
    }
    for (run, log) in runs.into_iter().zip(&logs) {
        let out = run.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        both.add(log_histogram(log)).unwrap();
    }
    let page = dir.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("report")
        .args(&logs)
        .arg("--out")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dom = chromium(&dir, &["--dump-dom"], &page);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert_eq!(dom.matches("<svg").count(), 3, "three plots");
    let circles: Vec<&str> = dom
        .split("<circle")
        .skip(1)
        .map(|c| &c[..c.find('>').unwrap()])
        .filter(|c| c.contains("class=\"pct\""))
        .collect();
    assert_eq!(circles.len(), MARKED.len(), "{dom}");
    let mut last_y = f64::INFINITY;
    for (c, p) in circles.iter().zip(MARKED) {
        assert_eq!(attr(c, "data-percentile"), Some(p.to_string().as_str()));
        let us: u64 = attr(c, "data-us").unwrap().parse().unwrap();
        assert_eq!(us, both.value_at_quantile(p / 100.0), "p{p}");
        // Higher percentiles are never lower on the plot (SVG y grows downwards).
        let y: f64 = attr(c, "cy").unwrap().parse().unwrap();
        assert!(y <= last_y, "p{p} at y {y} below the previous {last_y}");
        last_y = y;
    }
    // The throughput plot has one point per full second of the runs, which line up.
    let throughput = dom.split("data-series=\"responses/s\"").nth(1).unwrap();
    let points = attr(throughput, "points").unwrap();
    assert_eq!(points.split(' ').count(), 2, "{points}");

    let shot = dir.join("report.png");
    let out = chromium(&dir, &[&format!("--screenshot={}", shot.display())], &page);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 900));
    assert!(
        png.len() > 20_000,
        "a blank page compresses to a few KB: {} B",
        png.len()
    );
}
