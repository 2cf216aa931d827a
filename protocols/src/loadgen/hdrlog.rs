//! Latency over time as an HdrHistogram interval log (`--hdr-log`), and reading any number of
//! such logs back into one merged view (`loadgen report`).
//!
//! Each reactor thread records into a per-second [`IntervalRecorder`]; a finished second is
//! kept V2-encoded (a few hundred bytes, where a live histogram is ~140 KB). At the end the
//! threads' seconds are summed and written with [`write_log`] in the standard V2 compressed
//! form (`#[StartTime]`, `#[BaseTime]`, one line per second relative to BaseTime, then the
//! whole run as one interval tagged `total`), which HdrHistogram's own tools read.
//!
//! [`read_log`] parses a log; [`merge`] puts several on one time axis (by their BaseTime, so
//! runs started together with `--start-at` line up second by second) and sums every untagged
//! interval: the merged histogram is the one a single histogram of every sample would be.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};
use hdrhistogram::Histogram;

/// One thread's recorded seconds: (second since the run's start, V2-encoded histogram), in
/// order, empty seconds left out.
pub type Seconds = Vec<(u64, Vec<u8>)>;

/// One thread's latency samples, one histogram per second since the run's start.
pub struct IntervalRecorder {
    start: Instant,
    current: Histogram<u64>,
    index: u64,
    done: Seconds,
}

impl IntervalRecorder {
    /// A recorder whose second 0 begins at `start`; `empty` gives the histogram layout.
    pub fn new(start: Instant, empty: Histogram<u64>) -> IntervalRecorder {
        IntervalRecorder {
            start,
            current: empty,
            index: 0,
            done: Vec::new(),
        }
    }

    /// Records `value` (already clamped to the histogram's range) seen at `now`.
    pub fn record(&mut self, now: Instant, value: u64) {
        let index = now.saturating_duration_since(self.start).as_secs();
        if index != self.index {
            self.flush();
            self.index = index;
        }
        let _ = self.current.record(value);
    }

    fn flush(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let mut buf = Vec::new();
        if V2Serializer::new()
            .serialize(&self.current, &mut buf)
            .is_ok()
        {
            self.done.push((self.index, buf));
        }
        self.current.reset();
    }

    /// The recorded seconds.
    pub fn finish(mut self) -> Seconds {
        self.flush();
        self.done
    }
}

fn decode(bytes: &[u8]) -> io::Result<Histogram<u64>> {
    Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")))
}

/// An empty histogram that grows to hold whatever is added (1 µs resolution, three
/// significant digits: the layout loadgen records with).
fn sum_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2, 3).expect("histogram bounds");
    h.auto(true);
    h
}

/// Writes an interval log: the seconds of every thread summed (`threads`, as
/// [`IntervalRecorder::finish`] returns them), one interval per second from the first
/// recorded one to the end of the run (`seconds` long), then `total` tagged `total`.
pub fn write_log<W: Write>(
    out: &mut W,
    start: SystemTime,
    seconds: f64,
    threads: &[Seconds],
    total: &Histogram<u64>,
    comment: &str,
) -> io::Result<()> {
    let mut by_second: BTreeMap<u64, Vec<&[u8]>> = BTreeMap::new();
    for t in threads {
        for (i, bytes) in t {
            by_second.entry(*i).or_default().push(bytes);
        }
    }
    let mut ser = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(comment)
        .add_comment("latency in microseconds; one interval per second; Tag=total is the whole run")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1.0);
    let mut log = builder.begin_log_with(out, &mut ser)?;
    if let (Some(&first), Some(&last)) = (by_second.keys().next(), by_second.keys().next_back()) {
        let end = (seconds.ceil() as u64).max(last + 1);
        let mut empty = total.clone();
        empty.reset();
        for i in first..end {
            let mut h = empty.clone();
            for bytes in by_second.get(&i).into_iter().flatten() {
                h.add(decode(bytes)?).map_err(other)?;
            }
            let length = (seconds - i as f64).clamp(0.001, 1.0);
            log.write_histogram(
                &h,
                Duration::from_secs(i),
                Duration::from_secs_f64(length),
                None,
            )
            .map_err(other)?;
        }
    }
    log.write_histogram(
        total,
        Duration::ZERO,
        Duration::from_secs_f64(seconds.max(0.001)),
        Tag::new("total"),
    )
    .map_err(other)
}

fn other<E: std::fmt::Debug>(e: E) -> io::Error {
    io::Error::other(format!("{e:?}"))
}

/// One interval of a log, still encoded.
#[derive(Clone, Debug)]
pub struct LogInterval {
    /// Start, seconds since the Unix epoch.
    pub start: f64,
    /// Length in seconds.
    pub length: f64,
    /// The interval's tag, if any.
    pub tag: Option<String>,
    encoded: String,
}

impl LogInterval {
    /// The interval's histogram.
    pub fn histogram(&self) -> io::Result<Histogram<u64>> {
        let bytes = base64_decode(self.encoded.trim()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "bad base64 in an interval")
        })?;
        decode(&bytes)
    }
}

/// Decodes standard base64 (with or without padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &c in text {
        acc = (acc << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A parsed interval log.
#[derive(Clone, Debug)]
pub struct Log {
    /// Where it came from (the file name).
    pub name: String,
    /// `#[StartTime]`, seconds since the Unix epoch (or the first interval's start).
    pub start: f64,
    /// Every interval, in file order.
    pub intervals: Vec<LogInterval>,
}

/// Parses an interval log. Timestamps follow `#[BaseTime]` when present (as HdrHistogram's
/// reader does); a log without it has absolute timestamps, or offsets from `#[StartTime]`
/// when they are more than a year smaller than it.
pub fn read_log(name: &str, text: &[u8]) -> io::Result<Log> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {m}"));
    let (mut start_time, mut base_time) = (None, None);
    let mut raw = Vec::new();
    for entry in IntervalLogIterator::new(text) {
        match entry.map_err(|e| bad(format!("not an interval log ({e:?})")))? {
            LogEntry::StartTime(t) => start_time = Some(t.as_secs_f64()),
            LogEntry::BaseTime(t) => base_time = Some(t.as_secs_f64()),
            LogEntry::Interval(i) => raw.push((
                i.start_timestamp().as_secs_f64(),
                i.duration().as_secs_f64(),
                i.tag().map(|t| t.as_str().to_string()),
                i.encoded_histogram().to_string(),
            )),
        }
    }
    if raw.is_empty() {
        return Err(bad("no intervals".into()));
    }
    const YEAR: f64 = 365.25 * 86400.0;
    let base = match (base_time, start_time) {
        (Some(b), _) => b,
        (None, Some(s)) if raw[0].0 < s - YEAR => s,
        _ => 0.0,
    };
    let intervals: Vec<LogInterval> = raw
        .into_iter()
        .map(|(ts, length, tag, encoded)| LogInterval {
            start: base + ts,
            length,
            tag,
            encoded,
        })
        .collect();
    Ok(Log {
        name: name.to_string(),
        start: start_time.unwrap_or(intervals[0].start),
        intervals,
    })
}

/// Percentiles of one second of the merged logs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Seconds since the earliest log's start.
    pub t: f64,
    /// Length of the interval in seconds.
    pub length: f64,
    /// Samples (responses) in it.
    pub count: u64,
    /// Median (µs).
    pub p50: u64,
    /// 99th percentile (µs).
    pub p99: u64,
    /// 99.9th percentile (µs).
    pub p999: u64,
    /// Largest (µs).
    pub max: u64,
}

/// One log's share of a merge.
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// File name.
    pub name: String,
    /// Its start, seconds after the earliest log's.
    pub offset: f64,
    /// Untagged intervals.
    pub intervals: usize,
    /// Samples in them.
    pub count: u64,
}

/// Several logs on one time axis.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The earliest start, seconds since the Unix epoch.
    pub t0: f64,
    /// Each log's share.
    pub files: Vec<FileInfo>,
    /// Every untagged interval of every log, summed.
    pub total: Histogram<u64>,
    /// One point per second (intervals of different logs that start within the same second
    /// after `t0` are summed).
    pub points: Vec<Point>,
}

/// Merges `logs`: every untagged interval into one histogram, and second by second.
pub fn merge(logs: &[Log]) -> io::Result<Merged> {
    let t0 = logs
        .iter()
        .map(|l| l.start.min(l.intervals[0].start))
        .fold(f64::INFINITY, f64::min);
    let mut total = sum_histogram();
    let mut files = Vec::new();
    let mut by_second: BTreeMap<i64, Vec<(usize, &LogInterval)>> = BTreeMap::new();
    for (n, log) in logs.iter().enumerate() {
        let mut info = FileInfo {
            name: log.name.clone(),
            offset: log.start - t0,
            intervals: 0,
            count: 0,
        };
        for i in log.intervals.iter().filter(|i| i.tag.is_none()) {
            by_second
                .entry((i.start - t0 + 0.25).floor() as i64)
                .or_default()
                .push((n, i));
            info.intervals += 1;
        }
        files.push(info);
    }
    let mut points = Vec::new();
    for (second, intervals) in by_second {
        let mut h = sum_histogram();
        let mut length: f64 = 0.0;
        for (n, i) in intervals {
            let part = i.histogram()?;
            files[n].count += part.len();
            h.add(&part).map_err(other)?;
            length = length.max(i.length);
        }
        total.add(&h).map_err(other)?;
        let q = |q| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(q)
            }
        };
        points.push(Point {
            t: second as f64,
            length,
            count: h.len(),
            p50: q(0.5),
            p99: q(0.99),
            p999: q(0.999),
            max: h.max(),
        });
    }
    Ok(Merged {
        t0,
        files,
        total,
        points,
    })
}

/// Seconds since the Unix epoch.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Histogram<u64> {
        Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
    }

    fn quantiles(h: &Histogram<u64>) -> Vec<u64> {
        [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0]
            .iter()
            .map(|&q| h.value_at_quantile(q))
            .collect()
    }

    /// Two threads recording for 3.5 s; returns (their seconds, the histogram of everything).
    fn two_threads(start: Instant, scale: u64) -> (Vec<Seconds>, Histogram<u64>) {
        let mut all = layout();
        let mut threads = Vec::new();
        for t in 0..2u64 {
            let mut r = IntervalRecorder::new(start, layout());
            for ms in 0..3500u64 {
                let v = (ms * 7 + t * 13) % 5000 * scale + 1;
                r.record(start + Duration::from_millis(ms), v);
                all.record(v).unwrap();
            }
            threads.push(r.finish());
        }
        (threads, all)
    }

    #[test]
    fn recorder_splits_samples_by_second() {
        let start = Instant::now();
        let mut r = IntervalRecorder::new(start, layout());
        r.record(start, 5);
        r.record(start + Duration::from_millis(999), 6);
        r.record(start + Duration::from_millis(2500), 7);
        let seconds = r.finish();
        assert_eq!(seconds.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(decode(&seconds[0].1).unwrap().len(), 2);
        assert_eq!(decode(&seconds[1].1).unwrap().max(), 7);
    }

    #[test]
    fn a_written_log_reads_back_as_the_same_histograms() {
        let start = Instant::now();
        let (threads, all) = two_threads(start, 1);
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut out = Vec::new();
        write_log(&mut out, wall, 3.5, &threads, &all, "test").unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("#[StartTime: 1700000000.000"), "{text}");
        assert!(text.contains("#[BaseTime: 1700000000.000"), "{text}");
        let log = read_log("a", &out).unwrap();
        let untagged: Vec<_> = log.intervals.iter().filter(|i| i.tag.is_none()).collect();
        assert_eq!(untagged.len(), 4);
        assert_eq!(untagged[3].start, 1_700_000_003.0);
        assert!((untagged[3].length - 0.5).abs() < 1e-9);
        assert_eq!(untagged[0].histogram().unwrap().len(), 2000);
        let tagged = log.intervals.iter().find(|i| i.tag.is_some()).unwrap();
        assert_eq!(tagged.tag.as_deref(), Some("total"));
        assert_eq!(tagged.histogram().unwrap(), all);
        let merged = merge(&[log]).unwrap();
        assert_eq!(merged.total.len(), all.len());
        assert_eq!(quantiles(&merged.total), quantiles(&all));
        assert_eq!(merged.points.len(), 4);
        assert_eq!(merged.points[1].count, 2000);
    }

    #[test]
    fn merged_logs_equal_one_histogram_of_every_sample() {
        let start = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut one = layout();
        let mut logs = Vec::new();
        for (n, scale) in [(0u64, 1u64), (1, 40)] {
            let (threads, all) = two_threads(start, scale);
            one.add(&all).unwrap();
            let mut out = Vec::new();
            let begun = wall + Duration::from_millis(n * 100);
            write_log(&mut out, begun, 3.5, &threads, &all, "test").unwrap();
            logs.push(read_log(&format!("log{n}"), &out).unwrap());
        }
        let merged = merge(&logs).unwrap();
        assert_eq!(merged.total.len(), one.len());
        assert_eq!(quantiles(&merged.total), quantiles(&one));
        // Both logs' second 0 land in the same merged second despite the 100 ms offset.
        assert_eq!(merged.points.len(), 4);
        assert_eq!(merged.points[0].count, 4000);
        assert_eq!(merged.files[1].count, 7000);
        assert!((merged.files[1].offset - 0.1).abs() < 1e-6);
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("AAEC/w=="), Some(vec![0, 1, 2, 255]));
        assert_eq!(base64_decode("a*"), None);
    }

    #[test]
    fn junk_is_not_a_log() {
        assert!(read_log("x", b"hello\n").is_err());
        assert!(read_log("x", b"#only a comment\n").is_err());
    }
}
