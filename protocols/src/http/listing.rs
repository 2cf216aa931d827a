//! HTML directory listings: a table of name, size and modification time, sorted by any
//! column through plain links (`?sort=name|size|mtime&order=asc|desc`, no JavaScript),
//! directories first, with breadcrumbs and an inline stylesheet that follows the reader's
//! light or dark preference.
//!
//! Names are bytes: every link percent-encodes a name's raw bytes (a name that is not UTF-8
//! stays reachable) and the visible text is HTML-escaped, with control characters shown as
//! `\xNN` and invalid UTF-8 as U+FFFD.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// The column a listing is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// By name (byte order).
    Name,
    /// By size in bytes.
    Size,
    /// By modification time.
    Mtime,
}

/// How a listing is ordered, read from its query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortOrder {
    /// The column.
    pub key: SortKey,
    /// Descending rather than ascending.
    pub descending: bool,
}

impl SortOrder {
    /// Reads `sort=name|size|mtime` and `order=asc|desc` from a raw query; anything else
    /// (or nothing) is by name, ascending.
    pub fn from_query(query: Option<&str>) -> SortOrder {
        let mut order = SortOrder {
            key: SortKey::Name,
            descending: false,
        };
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=') {
                Some(("sort", "name")) => order.key = SortKey::Name,
                Some(("sort", "size")) => order.key = SortKey::Size,
                Some(("sort", "mtime")) => order.key = SortKey::Mtime,
                Some(("order", "desc")) => order.descending = true,
                Some(("order", "asc")) => order.descending = false,
                _ => {}
            }
        }
        order
    }
}

struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    size: u64,
    mtime: SystemTime,
}

/// Escapes text for HTML content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment given as bytes (unreserved characters kept), so that any
/// name, UTF-8 or not, makes a link that maps back to it.
pub fn percent_encode_segment(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A name as text to show: lossy UTF-8, HTML-escaped, control characters visible.
fn shown(name: &[u8]) -> String {
    html_escape(&String::from_utf8_lossy(name))
}

/// `1.5 KiB`, `12 B`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// `2024-03-01 12:34` (UTC).
pub fn format_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = crate::ops::time::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#656d76;--line:#d0d7de;\
--link:#0969da;--hover:#f6f8fa}\
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8d96a0;\
--line:#30363d;--link:#4493f8;--hover:#161b22}}\
body{margin:2rem auto;max-width:60rem;padding:0 1rem;font:15px/1.5 system-ui,sans-serif;\
color:var(--fg);background:var(--bg)}\
h1{font-size:1.25rem;font-weight:600;margin:0 0 1rem}\
h1 a{color:var(--link);text-decoration:none}h1 a:hover{text-decoration:underline}\
table{width:100%;border-collapse:collapse}\
th,td{padding:.35rem .6rem;text-align:left;border-bottom:1px solid var(--line)}\
th{font-weight:600;color:var(--muted);white-space:nowrap}\
th.name,td.name{width:100%;word-break:break-all}\
th a{color:inherit;text-decoration:none}th a:hover{color:var(--link)}\
td.size,td.mtime,th.size,th.mtime{text-align:right;white-space:nowrap;\
font-variant-numeric:tabular-nums}\
td.size,td.mtime{color:var(--muted)}\
tbody tr:hover{background:var(--hover)}\
td.name a{color:var(--link);text-decoration:none}td.name a:hover{text-decoration:underline}\
tr.dir td.name a{font-weight:600}";

/// An HTML listing of directory `dir`, whose path below the served root is `below_root`
/// (empty for the root), ordered by `order`; dot-names left out unless `show_hidden`.
pub fn listing_html(
    dir: &Path,
    below_root: &Path,
    order: SortOrder,
    show_hidden: bool,
) -> io::Result<Bytes> {
    let mut entries: Vec<Entry> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().as_bytes().to_vec();
        if !show_hidden && name.first() == Some(&b'.') {
            continue;
        }
        // Follow symlinks for what the entry is; a dangling one is listed as a file.
        let meta = fs::metadata(entry.path()).or_else(|_| entry.metadata());
        let (is_dir, size, mtime) = match &meta {
            Ok(m) => (
                m.is_dir(),
                if m.is_dir() { 0 } else { m.len() },
                m.modified().unwrap_or(UNIX_EPOCH),
            ),
            Err(_) => (false, 0, UNIX_EPOCH),
        };
        entries.push(Entry {
            name,
            is_dir,
            size,
            mtime,
        });
    }
    entries.sort_by(|a, b| {
        let by_key = match order.key {
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Size => a.size.cmp(&b.size).then_with(|| a.name.cmp(&b.name)),
            SortKey::Mtime => a.mtime.cmp(&b.mtime).then_with(|| a.name.cmp(&b.name)),
        };
        let by_key = if order.descending {
            by_key.reverse()
        } else {
            by_key
        };
        // Directories first, whatever the order.
        b.is_dir.cmp(&a.is_dir).then(by_key)
    });

    let segments: Vec<&[u8]> = below_root
        .iter()
        .map(|c: &OsStr| c.as_bytes())
        .filter(|c| !c.is_empty() && *c != b"/")
        .collect();
    let mut url_path = String::from("/");
    for s in &segments {
        url_path.push_str(&shown(s));
        url_path.push('/');
    }
    let mut html = String::with_capacity(1024 + entries.len() * 200);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    html.push_str(&format!(
        "<title>Index of {url_path}</title><style>{STYLE}</style>"
    ));
    html.push_str("</head>\n<body>\n<h1>Index of ");
    // Breadcrumbs: each ancestor links to itself (relative links: `../../`).
    let depth = segments.len();
    html.push_str(&format!(
        "<a href=\"{}\">/</a>",
        if depth == 0 {
            "./".to_string()
        } else {
            "../".repeat(depth)
        }
    ));
    for (i, s) in segments.iter().enumerate() {
        let up = depth - 1 - i;
        let href = if up == 0 {
            "./".to_string()
        } else {
            "../".repeat(up)
        };
        html.push_str(&format!("<a href=\"{href}\">{}</a>/", shown(s)));
    }
    html.push_str("</h1>\n<table>\n<thead><tr>");
    for (key, class, label) in [
        (SortKey::Name, "name", "Name"),
        (SortKey::Size, "size", "Size"),
        (SortKey::Mtime, "mtime", "Modified (UTC)"),
    ] {
        let current = order.key == key;
        let next_desc = current && !order.descending;
        let arrow = match (current, order.descending) {
            (true, false) => " \u{25b2}",
            (true, true) => " \u{25bc}",
            _ => "",
        };
        let aria = match (current, order.descending) {
            (true, false) => " aria-sort=\"ascending\"",
            (true, true) => " aria-sort=\"descending\"",
            _ => "",
        };
        html.push_str(&format!(
            "<th class=\"{class}\"{aria}><a href=\"?sort={class}&amp;order={}\">{label}{arrow}</a></th>",
            if next_desc { "desc" } else { "asc" }
        ));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    if depth > 0 {
        html.push_str(
            "<tr class=\"dir parent\"><td class=\"name\"><a href=\"../\">../</a></td>\
             <td class=\"size\"></td><td class=\"mtime\"></td></tr>\n",
        );
    }
    for e in &entries {
        let slash = if e.is_dir { "/" } else { "" };
        let size = if e.is_dir {
            "\u{2014}".to_string()
        } else {
            human_size(e.size)
        };
        html.push_str(&format!(
            "<tr class=\"{}\"><td class=\"name\"><a href=\"{}{slash}\">{}{slash}</a></td>\
             <td class=\"size\" data-bytes=\"{}\">{size}</td><td class=\"mtime\">{}</td></tr>\n",
            if e.is_dir { "dir" } else { "file" },
            percent_encode_segment(&e.name),
            shown(&e.name),
            e.size,
            format_time(e.mtime),
        ));
    }
    html.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    Ok(Bytes::from(html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizes_and_times_read_as_people_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(20 * 1024 * 1024), "20 MiB");
        let t = UNIX_EPOCH + Duration::from_secs(951_827_696); // 2000-02-29 12:34:56 UTC
        assert_eq!(format_time(t), "2000-02-29 12:34");
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01 00:00");
    }

    #[test]
    fn sort_order_reads_the_query_and_defaults_to_name_ascending() {
        let o = SortOrder::from_query(Some("sort=size&order=desc"));
        assert_eq!(o.key, SortKey::Size);
        assert!(o.descending);
        let o = SortOrder::from_query(Some("sort=bogus&x=1"));
        assert_eq!(o.key, SortKey::Name);
        assert!(!o.descending);
        assert_eq!(SortOrder::from_query(None).key, SortKey::Name);
    }

    #[test]
    fn names_are_escaped_as_text_and_percent_encoded_as_bytes() {
        assert_eq!(percent_encode_segment(b"a b\xe7w"), "a%20b%E7w");
        assert_eq!(
            html_escape("<a href='x'>&\r\n"),
            "&lt;a href=&#39;x&#39;&gt;&amp;\\x0d\\x0a"
        );
    }
}
