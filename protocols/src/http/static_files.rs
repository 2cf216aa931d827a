//! A static-file server on a root directory: GET/HEAD with MIME types, `index.html`, HTML
//! directory listings, `ETag`/`Last-Modified` and conditional requests (304), `Range` (206 /
//! 416), bodies sent with `sendfile`; PUT (to a temp file, renamed when complete) and DELETE
//! when writable.
//!
//! Nothing outside the root is ever served or touched: targets with `..` segments (also
//! percent-encoded), backslashes or NUL bytes are refused with 400, and every path is
//! canonicalised (symlinks resolved) and must stay under the canonical root (403 otherwise).

use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::file_cache::{CachedFile, FileCache};
use super::handler::{
    percent_decode, Body, BodyMode, BodyPart, BodySink, Handler, Request, Response,
};

/// Where a file's bytes come from.
enum Source {
    /// The small-file cache (validators included).
    Cached(Rc<CachedFile>),
    /// The open file.
    File(Rc<File>),
}

/// Serves (and, when writable, stores) the files under one root directory.
#[derive(Clone, Debug)]
pub struct StaticFiles {
    root: PathBuf,
    writable: bool,
    listing: bool,
    hidden: Vec<PathBuf>,
    /// Small files kept in memory while unchanged (shared by clones, on one thread); `None`
    /// when switched off.
    cache: Option<Rc<FileCache>>,
}

impl StaticFiles {
    /// Serves `root` read-only, with directory listings. Fails when `root` is not a
    /// directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<StaticFiles> {
        let root = fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticFiles {
            root,
            writable: false,
            listing: true,
            hidden: Vec::new(),
            cache: Some(Rc::default()),
        })
    }

    /// Keeps small files in memory between requests (on by default; see [`FileCache`]).
    pub fn file_cache(mut self, on: bool) -> StaticFiles {
        self.cache = on.then(Rc::default);
        self
    }

    /// Allows PUT and DELETE.
    pub fn writable(mut self, writable: bool) -> StaticFiles {
        self.writable = writable;
        self
    }

    /// Turns HTML directory listings on or off (off: 403 for a directory without index).
    pub fn listing(mut self, listing: bool) -> StaticFiles {
        self.listing = listing;
        self
    }

    /// Never serves, lists or writes anything under `dir` (the CGI directory: script
    /// sources stay private, and uploads cannot plant scripts), whatever path reaches it.
    pub fn hide(mut self, dir: impl AsRef<Path>) -> StaticFiles {
        if let Ok(canon) = fs::canonicalize(dir.as_ref()) {
            self.hidden.push(canon);
        }
        self
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn allow(&self) -> &'static str {
        if self.writable {
            "GET, HEAD, PUT, DELETE, OPTIONS"
        } else {
            "GET, HEAD, OPTIONS"
        }
    }

    /// Maps a request-target's path to a path under the root, without following symlinks.
    /// Err: the status to answer (400 for traversal attempts and forbidden bytes).
    pub fn map_target(&self, raw_target: &[u8]) -> Result<PathBuf, u16> {
        let mut raw = raw_target;
        if let Some(i) = memchr::memchr2(b'?', b'#', raw) {
            raw = &raw[..i];
        }
        if raw.first() != Some(&b'/') {
            // Absolute-form: keep the path.
            if let Some(i) = memchr::memmem::find(raw, b"://") {
                let rest = &raw[i + 3..];
                raw = match memchr::memchr(b'/', rest) {
                    Some(j) => &rest[j..],
                    None => b"/",
                };
            } else {
                return Err(400);
            }
        }
        let decoded = percent_decode(raw);
        if decoded.contains(&0) || decoded.contains(&b'\\') {
            return Err(400);
        }
        let text = std::str::from_utf8(&decoded).map_err(|_| 404u16)?;
        let mut path = self.root.clone();
        for seg in text.split('/') {
            match seg {
                "" | "." => {}
                ".." => return Err(400),
                s => path.push(s),
            }
        }
        Ok(path)
    }

    /// True when `path` (resolved) lies under the root and not in a hidden directory.
    fn inside(&self, path: &Path) -> bool {
        path.starts_with(&self.root) && !self.hidden.iter().any(|h| path.starts_with(h))
    }

    /// Maps and canonicalises an existing path, with its metadata; 404 when missing, 403
    /// when it resolves outside the root.
    ///
    /// The mapped path is the canonical root plus plain names, so when no component below
    /// the root is a symbolic link it is canonical already: one `lstat` per component (for
    /// `/index.html`, one) answers both questions, where `realpath` would `readlink` every
    /// component from `/` and a `stat` would follow. A symbolic link anywhere takes the
    /// full `canonicalize` path.
    fn resolve_existing(&self, raw_target: &[u8]) -> Result<(PathBuf, Metadata), u16> {
        let mapped = self.map_target(raw_target)?;
        let status_of = |e: io::Error| match e.kind() {
            io::ErrorKind::PermissionDenied => 403u16,
            _ => 404,
        };
        let below = mapped.strip_prefix(&self.root).map_err(|_| 403u16)?;
        let mut prefix = self.root.clone();
        let mut last = None;
        let mut linked = false;
        for comp in below.components() {
            prefix.push(comp);
            let meta = fs::symlink_metadata(&prefix).map_err(status_of)?;
            if meta.file_type().is_symlink() {
                linked = true;
                break;
            }
            last = Some(meta);
        }
        if !linked {
            let meta = match last {
                Some(m) => m,
                None => fs::metadata(&mapped).map_err(status_of)?,
            };
            if !self.inside(&mapped) {
                return Err(403);
            }
            return Ok((mapped, meta));
        }
        let canon = fs::canonicalize(&mapped).map_err(status_of)?;
        if !self.inside(&canon) {
            return Err(403);
        }
        let meta = fs::metadata(&canon).map_err(status_of)?;
        Ok((canon, meta))
    }

    /// Maps a path for writing (PUT/DELETE): its parent must exist under the root; the entry
    /// itself must not be a symlink leading outside. Returns the non-canonical entry path
    /// inside the canonical parent.
    fn resolve_for_write(&self, raw_target: &[u8]) -> Result<PathBuf, u16> {
        let mapped = self.map_target(raw_target)?;
        if mapped == self.root {
            return Err(405);
        }
        let name = mapped.file_name().ok_or(400u16)?.to_owned();
        let parent = mapped.parent().ok_or(400u16)?;
        let parent = match fs::canonicalize(parent) {
            Ok(p) => p,
            Err(_) => return Err(409),
        };
        if !self.inside(&parent) || !parent.is_dir() {
            return Err(403);
        }
        let entry = parent.join(name);
        if let Ok(meta) = fs::symlink_metadata(&entry) {
            if meta.file_type().is_symlink() {
                match fs::canonicalize(&entry) {
                    Ok(target) if self.inside(&target) => {}
                    _ => return Err(403),
                }
            }
        }
        Ok(entry)
    }

    fn get(&self, req: &Request) -> Response {
        let (path, meta) = match self.resolve_existing(req.raw_target()) {
            Ok(found) => found,
            Err(status) => return Response::error(status),
        };
        if meta.is_dir() {
            let raw_path = target_path(req.raw_target());
            if !raw_path.ends_with(b"/") {
                let mut location = raw_path.to_vec();
                location.push(b'/');
                if let Some(q) = req.query() {
                    location.push(b'?');
                    location.extend_from_slice(q.as_bytes());
                }
                return Response::error(301).header("Location", location);
            }
            let index = path.join("index.html");
            if let Ok(m) = fs::metadata(&index) {
                if m.is_file() {
                    return self.serve_file(req, &index, &m);
                }
            }
            if !self.listing {
                return Response::error(403);
            }
            return match listing_html(&path, req.path()) {
                Ok(html) => Response::html(200, html),
                Err(_) => Response::error(403),
            };
        }
        if !meta.is_file() {
            return Response::error(403);
        }
        self.serve_file(req, &path, &meta)
    }

    fn serve_file(&self, req: &Request, path: &Path, meta: &Metadata) -> Response {
        let open = || match File::open(path) {
            Ok(f) => Ok(Rc::new(f)),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(Response::error(403)),
            Err(_) => Err(Response::error(404)),
        };
        let len = meta.len();
        let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
        // A small file unchanged since it was cached: no open, no read, no formatting.
        let cache = self.cache.as_deref();
        let cached = |c: Rc<CachedFile>| {
            let (etag, lm) = (c.etag.clone(), c.last_modified.clone());
            (Source::Cached(c), etag, lm)
        };
        let (source, etag, last_modified) = match cache.and_then(|c| c.get(path, meta)) {
            Some(c) => cached(c),
            None => {
                let file = match open() {
                    Ok(f) => f,
                    Err(resp) => return resp,
                };
                let etag = etag_of(meta);
                let lm = httpdate::fmt_http_date(mtime);
                match cache.and_then(|c| c.fill(path, meta, &file, &etag, &lm)) {
                    Some(c) => cached(c),
                    None => (Source::File(file), etag.into(), lm.into()),
                }
            }
        };
        let etag_str = std::str::from_utf8(&etag).unwrap_or_default();
        let not_modified = || {
            Response::new(304)
                .header("ETag", etag.clone())
                .header("Last-Modified", last_modified.clone())
        };
        if let Some(inm) = req.header("if-none-match") {
            if etag_list_matches(inm, etag_str) {
                return not_modified();
            }
        } else if let Some(ims) = req.header_str("if-modified-since") {
            if let Ok(since) = httpdate::parse_http_date(ims.trim()) {
                if truncate_to_secs(mtime) <= since {
                    return not_modified();
                }
            }
        }
        let mime = mime_type(path);
        let base = |status: u16| {
            Response::new(status)
                .header("Content-Type", mime)
                .header("ETag", etag.clone())
                .header("Last-Modified", last_modified.clone())
                .header("Accept-Ranges", "bytes")
        };
        let range_applies = req.method() == "GET"
            && match req.header("if-range") {
                None => true,
                Some(v) => {
                    let v = v.trim_ascii();
                    v == &etag[..]
                        || std::str::from_utf8(v)
                            .ok()
                            .and_then(|d| httpdate::parse_http_date(d).ok())
                            .is_some_and(|d| truncate_to_secs(mtime) == d)
                }
            };
        let range = match req.header("range") {
            Some(r) if range_applies => parse_range(r, len),
            _ => RangeSpec::Ignore,
        };
        match (range, source) {
            (RangeSpec::Single(start, end), source) => {
                let part = base(206).header("Content-Range", format!("bytes {start}-{end}/{len}"));
                match source {
                    Source::Cached(c) => part.body(c.body.slice(start as usize..=end as usize)),
                    Source::File(file) => part.with_body(Body::File {
                        file,
                        offset: start,
                        len: end - start + 1,
                    }),
                }
            }
            (RangeSpec::Multi(ranges), source) => {
                let file = match source {
                    Source::File(file) => file,
                    Source::Cached(_) => match open() {
                        Ok(f) => f,
                        Err(resp) => return resp,
                    },
                };
                base(206)
                    .with_body(Body::Empty)
                    .with_multipart(&file, mime, len, &ranges)
            }
            (RangeSpec::Unsatisfiable, _) => {
                Response::error(416).header("Content-Range", format!("bytes */{len}"))
            }
            (RangeSpec::Ignore, Source::Cached(c)) => base(200).body(c.body.clone()),
            (RangeSpec::Ignore, Source::File(file)) => base(200).with_body(Body::File {
                file,
                offset: 0,
                len,
            }),
        }
    }

    fn delete(&self, req: &Request) -> Response {
        let entry = match self.resolve_for_write(req.raw_target()) {
            Ok(p) => p,
            Err(409) => return Response::error(404),
            Err(s) => return Response::error(s),
        };
        match fs::symlink_metadata(&entry) {
            Err(_) => Response::error(404),
            Ok(m) if m.is_dir() => Response::error(409),
            Ok(_) => match fs::remove_file(&entry) {
                Ok(()) => Response::new(204),
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Response::error(403),
                Err(_) => Response::error(500),
            },
        }
    }

    /// Starts a PUT: a temp file beside the target, renamed over it when the body is
    /// complete.
    fn start_put(&self, req: &Request) -> Result<PutSink, Response> {
        let entry = self
            .resolve_for_write(req.raw_target())
            .map_err(Response::error)?;
        let existed = match fs::metadata(&entry) {
            Ok(m) if m.is_dir() => return Err(Response::error(409)),
            Ok(_) => true,
            Err(_) => false,
        };
        PutSink::create(entry, existed).map_err(|e| {
            tracing::warn!(error = %e, "PUT: cannot create temp file");
            Response::error(if e.kind() == io::ErrorKind::PermissionDenied {
                403
            } else {
                500
            })
        })
    }
}

impl Handler for StaticFiles {
    fn handle(&self, req: &Request) -> Response {
        match req.method() {
            "GET" | "HEAD" => self.get(req),
            "OPTIONS" => Response::new(204).header("Allow", self.allow()),
            "PUT" if self.writable => match self.start_put(req) {
                Ok(mut sink) => match sink.data(req.body()) {
                    Ok(()) => Box::new(sink).finish(req),
                    Err(resp) => resp,
                },
                Err(resp) => resp,
            },
            "DELETE" if self.writable => self.delete(req),
            _ => Response::error(405).header("Allow", self.allow()),
        }
    }

    fn body_mode(&self, req: &Request) -> BodyMode {
        match req.method() {
            "PUT" if self.writable => match self.start_put(req) {
                Ok(sink) => BodyMode::Stream(Box::new(sink)),
                Err(resp) => BodyMode::Reject(resp),
            },
            "PUT" | "DELETE" | "POST" => {
                BodyMode::Reject(Response::error(405).header("Allow", self.allow()))
            }
            _ => BodyMode::Buffer,
        }
    }
}

/// Builds `multipart/byteranges` bodies (RFC 9110 section 14.6).
trait Multipart {
    fn with_multipart(
        self,
        file: &Rc<File>,
        mime: &str,
        len: u64,
        ranges: &[(u64, u64)],
    ) -> Response;
}

impl Multipart for Response {
    fn with_multipart(
        self,
        file: &Rc<File>,
        mime: &str,
        len: u64,
        ranges: &[(u64, u64)],
    ) -> Response {
        let boundary = format!(
            "nr{:016x}",
            UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed) ^ len
        );
        let mut parts = Vec::with_capacity(ranges.len() * 2 + 1);
        for (i, &(start, end)) in ranges.iter().enumerate() {
            let lead = if i == 0 { "" } else { "\r\n" };
            parts.push(BodyPart::Bytes(Bytes::from(format!(
                "{lead}--{boundary}\r\nContent-Type: {mime}\r\nContent-Range: bytes {start}-{end}/{len}\r\n\r\n"
            ))));
            parts.push(BodyPart::File {
                file: file.clone(),
                offset: start,
                len: end - start + 1,
            });
        }
        parts.push(BodyPart::Bytes(Bytes::from(format!(
            "\r\n--{boundary}--\r\n"
        ))));
        let mut resp = self;
        resp.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(b"content-type"));
        resp.header(
            "Content-Type",
            format!("multipart/byteranges; boundary={boundary}"),
        )
        .with_body(Body::Parts(parts))
    }
}

static UPLOAD_SEQ: AtomicU64 = AtomicU64::new(0);

/// A PUT body on its way to disk: written to a hidden temp file in the target's directory,
/// renamed over the target by [`BodySink::finish`], removed if dropped before that.
pub struct PutSink {
    temp: PathBuf,
    target: PathBuf,
    file: Option<File>,
    existed: bool,
}

impl PutSink {
    fn create(target: PathBuf, existed: bool) -> io::Result<PutSink> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let seq = UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed);
        let temp = target.with_file_name(format!(".{name}.upload-{}-{seq}", std::process::id()));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(PutSink {
            temp,
            target,
            file: Some(file),
            existed,
        })
    }
}

impl BodySink for PutSink {
    fn data(&mut self, chunk: &[u8]) -> Result<(), Response> {
        let file = self.file.as_mut().ok_or_else(|| Response::error(500))?;
        file.write_all(chunk).map_err(|e| {
            tracing::warn!(error = %e, "PUT: write failed");
            Response::error(500)
        })
    }

    fn finish(mut self: Box<Self>, _req: &Request) -> Response {
        let Some(file) = self.file.take() else {
            return Response::error(500);
        };
        if let Err(e) = file.sync_data() {
            tracing::warn!(error = %e, "PUT: sync failed");
        }
        drop(file);
        if let Err(e) = fs::rename(&self.temp, &self.target) {
            tracing::warn!(error = %e, "PUT: rename failed");
            let _ = fs::remove_file(&self.temp);
            return Response::error(500);
        }
        if self.existed {
            Response::new(204)
        } else {
            Response::new(201)
        }
    }
}

impl Drop for PutSink {
    fn drop(&mut self) {
        // Not renamed: the upload failed or was abandoned; leave nothing half-written.
        if self.file.is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// The path part of a raw request-target (before `?`).
fn target_path(raw: &[u8]) -> &[u8] {
    match memchr::memchr2(b'?', b'#', raw) {
        Some(i) => &raw[..i],
        None => raw,
    }
}

fn truncate_to_secs(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

/// A strong validator from inode, size and modification time.
pub fn etag_of(meta: &Metadata) -> String {
    format!(
        "\"{:x}-{:x}-{:x}\"",
        meta.ino(),
        meta.len(),
        meta.mtime() as u64 * 1_000_000_000 + meta.mtime_nsec() as u64
    )
}

/// True when an `If-None-Match` value (`*` or a list of entity tags) matches `etag` by weak
/// comparison (RFC 9110 section 13.1.2).
pub fn etag_list_matches(header: &[u8], etag: &str) -> bool {
    let header = header.trim_ascii();
    if header == b"*" {
        return true;
    }
    let strip = |t: &[u8]| -> Vec<u8> {
        let t = t.trim_ascii();
        t.strip_prefix(b"W/").unwrap_or(t).to_vec()
    };
    let want = strip(etag.as_bytes());
    header.split(|&b| b == b',').any(|t| strip(t) == want)
}

/// The result of reading a `Range` header against a representation of known length.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeSpec {
    /// One satisfiable range, inclusive `start..=end`.
    Single(u64, u64),
    /// Several satisfiable ranges (in the order asked), answered as `multipart/byteranges`.
    Multi(Vec<(u64, u64)>),
    /// Every range lies past the end: 416.
    Unsatisfiable,
    /// Not a byte range we serve (other unit, malformed, too many or overlapping ranges):
    /// send it all, as RFC 9110 allows.
    Ignore,
}

/// Most ranges answered as multipart; more (a classic amplification trick) get the whole
/// file.
pub const MAX_RANGES: usize = 16;

/// Parses a `Range` value (`bytes=0-99`, `bytes=100-`, `bytes=-50`, or a comma list of
/// them) for a length-`len` file.
pub fn parse_range(header: &[u8], len: u64) -> RangeSpec {
    let Some(spec) = header.trim_ascii().strip_prefix(b"bytes=") else {
        return RangeSpec::Ignore;
    };
    let Ok(spec) = std::str::from_utf8(spec) else {
        return RangeSpec::Ignore;
    };
    if !spec.contains(',') {
        return parse_one_range(spec, len);
    }
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for (i, piece) in spec.split(',').enumerate() {
        if i >= MAX_RANGES {
            return RangeSpec::Ignore;
        }
        if piece.trim().is_empty() {
            continue;
        }
        match parse_one_range(piece, len) {
            RangeSpec::Single(a, b) => ranges.push((a, b)),
            RangeSpec::Unsatisfiable => {}
            _ => return RangeSpec::Ignore,
        }
    }
    // Overlapping ranges are refused by sending the whole representation.
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[1].0 <= w[0].1) {
        return RangeSpec::Ignore;
    }
    match ranges.len() {
        0 => RangeSpec::Unsatisfiable,
        1 => RangeSpec::Single(ranges[0].0, ranges[0].1),
        _ => RangeSpec::Multi(ranges),
    }
}

fn parse_one_range(spec: &str, len: u64) -> RangeSpec {
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeSpec::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if a.is_empty() {
        // Suffix: the last `b` bytes.
        if !digits(b) {
            return RangeSpec::Ignore;
        }
        let n: u64 = b.parse().unwrap_or(u64::MAX);
        if n == 0 || len == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Single(len.saturating_sub(n), len - 1);
    }
    if !digits(a) || !(b.is_empty() || digits(b)) {
        return RangeSpec::Ignore;
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::Unsatisfiable;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        b.parse::<u64>().unwrap_or(u64::MAX)
    };
    if end < start {
        return RangeSpec::Ignore;
    }
    if start >= len {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Single(start, end.min(len - 1))
}

/// The media type for a file name's extension.
pub fn mime_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "text" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        _ => "application/octet-stream",
    }
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
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment for use in a URL (unreserved characters kept).
pub fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An HTML listing of directory `dir`, shown at URL path `url_path`; names are escaped.
pub fn listing_html(dir: &Path, url_path: &str) -> io::Result<Bytes> {
    let mut names: Vec<(String, bool)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false)
            || fs::metadata(entry.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
        names.push((name, is_dir));
    }
    names.sort();
    let title = html_escape(url_path);
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\
         </head>\n<body><h1>Index of {title}</h1>\n<ul>\n"
    );
    if url_path != "/" {
        html.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, is_dir) in names {
        let slash = if is_dir { "/" } else { "" };
        html.push_str(&format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            percent_encode_segment(&name),
            html_escape(&name)
        ));
    }
    html.push_str("</ul></body></html>\n");
    Ok(Bytes::from(html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let seq = UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed);
            let p =
                std::env::temp_dir().join(format!("nr-static-{tag}-{}-{seq}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn setup() -> (TempDir, TempDir, StaticFiles) {
        let outer = TempDir::new("outer");
        let root = TempDir::new("root");
        fs::write(outer.0.join("secret.txt"), "SECRET").unwrap();
        fs::write(root.0.join("a.txt"), "hello world").unwrap();
        fs::create_dir(root.0.join("sub")).unwrap();
        fs::write(root.0.join("sub/x.html"), "<p>x</p>").unwrap();
        symlink(outer.0.join("secret.txt"), root.0.join("out.txt")).unwrap();
        symlink(&outer.0, root.0.join("outdir")).unwrap();
        symlink(root.0.join("a.txt"), root.0.join("in.txt")).unwrap();
        let sf = StaticFiles::new(&root.0).unwrap().writable(true);
        (outer, root, sf)
    }

    fn body_len(r: &Response) -> Option<u64> {
        r.get_body().len()
    }

    #[test]
    fn serves_a_file_with_type_length_and_validators() {
        let (_o, _r, sf) = setup();
        let resp = sf.handle(&Request::new("GET", "/a.txt"));
        assert_eq!(resp.status(), 200);
        assert_eq!(body_len(&resp), Some(11));
        assert_eq!(
            resp.get_header("content-type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
        assert!(resp.get_header("etag").is_some());
        assert!(resp.get_header("last-modified").is_some());
    }

    /// The bytes of a response body held in memory or in a file range.
    fn body_bytes(r: &Response) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        match r.get_body() {
            Body::Bytes(b) => b.to_vec(),
            Body::File { file, offset, len } => {
                let mut v = vec![0; *len as usize];
                file.read_exact_at(&mut v, *offset).unwrap();
                v
            }
            Body::Empty => Vec::new(),
            Body::Parts(parts) => {
                let mut v = Vec::new();
                for part in parts {
                    match part {
                        BodyPart::Bytes(b) => v.extend_from_slice(b),
                        BodyPart::File { file, offset, len } => {
                            let start = v.len();
                            v.resize(start + *len as usize, 0);
                            file.read_exact_at(&mut v[start..], *offset).unwrap();
                        }
                    }
                }
                v
            }
            _ => panic!("unexpected body kind"),
        }
    }

    #[test]
    fn a_cached_small_file_answers_like_the_file_and_follows_its_changes() {
        let (_o, root, sf) = setup();
        let get = |target: &str, headers: &[(&str, &str)]| {
            let mut req = Request::new("GET", target);
            for (n, v) in headers {
                req = req.with_header(n, v);
            }
            sf.handle(&req)
        };
        let first = get("/a.txt", &[]);
        // Written just now: served from the file, not yet cached.
        assert!(matches!(first.get_body(), Body::File { .. }));
        std::thread::sleep(Duration::from_millis(1100));
        let fill = get("/a.txt", &[]);
        let hit = get("/a.txt", &[]);
        for r in [&fill, &hit] {
            assert!(matches!(r.get_body(), Body::Bytes(_)), "served from memory");
            assert_eq!(body_bytes(r), b"hello world");
            for h in ["etag", "last-modified", "content-type", "accept-ranges"] {
                assert_eq!(r.get_header(h), first.get_header(h), "{h}");
            }
        }
        let etag = String::from_utf8(hit.get_header("etag").unwrap().to_vec()).unwrap();
        assert_eq!(get("/a.txt", &[("If-None-Match", &etag)]).status(), 304);
        let part = get("/a.txt", &[("Range", "bytes=6-10")]);
        assert_eq!(part.status(), 206);
        assert_eq!(body_bytes(&part), b"world");
        let two = get("/a.txt", &[("Range", "bytes=0-1,6-7")]);
        assert_eq!(two.status(), 206);
        let multi = String::from_utf8(body_bytes(&two)).unwrap();
        assert!(
            multi.contains("\r\n\r\nhe\r\n") && multi.contains("\r\n\r\nwo\r\n"),
            "{multi}"
        );
        // Rewritten in place with the same length: the new bytes and a new validator.
        fs::write(root.0.join("a.txt"), "HELLO WORLD").unwrap();
        let changed = get("/a.txt", &[]);
        assert_eq!(body_bytes(&changed), b"HELLO WORLD");
        assert_ne!(changed.get_header("etag"), hit.get_header("etag"));
        assert_eq!(get("/a.txt", &[("If-None-Match", &etag)]).status(), 200);
        // Removed: 404.
        fs::remove_file(root.0.join("a.txt")).unwrap();
        assert_eq!(get("/a.txt", &[]).status(), 404);
        // Switched off: the settled file comes from disk every time.
        let uncached = StaticFiles::new(&root.0).unwrap().file_cache(false);
        for _ in 0..2 {
            let r = uncached.handle(&Request::new("GET", "/sub/x.html"));
            assert!(matches!(r.get_body(), Body::File { .. }));
            assert_eq!(body_bytes(&r), b"<p>x</p>");
        }
    }

    #[test]
    fn traversal_attempts_never_reach_outside_files() {
        let (_o, _r, sf) = setup();
        for t in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2fsecret.txt",
            "/sub/../../secret.txt",
            "/..%5csecret.txt",
            "/sub\\..\\..\\secret.txt",
            "/a.txt%00.html",
            "/out.txt",
            "/outdir/secret.txt",
            "secret.txt",
        ] {
            let resp = sf.handle(&Request::new("GET", t));
            assert!(
                [400, 403, 404].contains(&resp.status()),
                "{t} got {}",
                resp.status()
            );
            assert!(
                !matches!(resp.get_body(), Body::File { .. }),
                "{t} served a file"
            );
        }
        // A symlink that stays inside the root is fine.
        assert_eq!(sf.handle(&Request::new("GET", "/in.txt")).status(), 200);
    }

    #[test]
    fn resolution_without_realpath_keeps_every_answer() {
        // The lstat walk (no symlink) and the canonicalize path (a symlink somewhere) must
        // agree on status and content.
        let (_o, root, sf) = setup();
        symlink(root.0.join("sub"), root.0.join("insub")).unwrap();
        fs::create_dir(root.0.join("private")).unwrap();
        fs::write(root.0.join("private/p.txt"), "private").unwrap();
        symlink(root.0.join("private"), root.0.join("toprivate")).unwrap();
        let sf = sf.hide(root.0.join("private"));
        for (target, status, len) in [
            ("/sub/x.html", 200, Some(8)),
            ("/insub/x.html", 200, Some(8)),
            ("/a.txt/x", 404, None),
            ("/missing/x.html", 404, None),
            ("/sub/missing.html", 404, None),
            ("/private/p.txt", 403, None),
            ("/toprivate/p.txt", 403, None),
            ("/./sub//x.html", 200, Some(8)),
        ] {
            let resp = sf.handle(&Request::new("GET", target));
            assert_eq!(resp.status(), status, "{target}");
            if let Some(n) = len {
                assert_eq!(body_len(&resp), Some(n), "{target}");
            }
        }
    }

    #[test]
    fn directory_redirects_lists_and_uses_index() {
        let (_o, root, sf) = setup();
        let resp = sf.handle(&Request::new("GET", "/sub"));
        assert_eq!(resp.status(), 301);
        assert_eq!(resp.get_header("location"), Some(&b"/sub/"[..]));
        fs::write(root.0.join("sub/<b>&.txt"), "x").unwrap();
        let resp = sf.handle(&Request::new("GET", "/sub/"));
        assert_eq!(resp.status(), 200);
        let Body::Bytes(html) = resp.get_body() else {
            panic!()
        };
        let html = std::str::from_utf8(html).unwrap();
        assert!(html.contains("&lt;b&gt;&amp;.txt"), "{html}");
        assert!(html.contains("href=\"%3Cb%3E%26.txt\""), "{html}");
        assert!(!html.contains("<b>"));
        fs::write(root.0.join("sub/index.html"), "INDEX").unwrap();
        let resp = sf.handle(&Request::new("GET", "/sub/"));
        assert_eq!(body_len(&resp), Some(5));
    }

    #[test]
    fn conditional_requests_get_304() {
        let (_o, _r, sf) = setup();
        let resp = sf.handle(&Request::new("GET", "/a.txt"));
        let etag = std::str::from_utf8(resp.get_header("etag").unwrap())
            .unwrap()
            .to_string();
        let lm = std::str::from_utf8(resp.get_header("last-modified").unwrap())
            .unwrap()
            .to_string();
        let r = Request::new("GET", "/a.txt").with_header("If-None-Match", &etag);
        assert_eq!(sf.handle(&r).status(), 304);
        let r = Request::new("GET", "/a.txt").with_header("If-None-Match", "\"other\", W/x");
        assert_eq!(sf.handle(&r).status(), 200);
        let r = Request::new("GET", "/a.txt").with_header("If-Modified-Since", &lm);
        assert_eq!(sf.handle(&r).status(), 304);
        let r = Request::new("GET", "/a.txt")
            .with_header("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(sf.handle(&r).status(), 200);
    }

    #[test]
    fn ranges_give_206_and_416() {
        let (_o, _r, sf) = setup();
        let r = Request::new("GET", "/a.txt").with_header("Range", "bytes=6-");
        let resp = sf.handle(&r);
        assert_eq!(resp.status(), 206);
        assert_eq!(
            resp.get_header("content-range"),
            Some(&b"bytes 6-10/11"[..])
        );
        assert!(matches!(
            resp.get_body(),
            Body::File {
                offset: 6,
                len: 5,
                ..
            }
        ));
        let r = Request::new("GET", "/a.txt").with_header("Range", "bytes=20-30");
        let resp = sf.handle(&r);
        assert_eq!(resp.status(), 416);
        assert_eq!(resp.get_header("content-range"), Some(&b"bytes */11"[..]));
        let r = Request::new("GET", "/a.txt")
            .with_header("Range", "bytes=0-1")
            .with_header("If-Range", "\"stale\"");
        assert_eq!(sf.handle(&r).status(), 200);
    }

    #[test]
    fn range_parser_cases() {
        assert_eq!(parse_range(b"bytes=0-0", 10), RangeSpec::Single(0, 0));
        assert_eq!(parse_range(b"bytes=-3", 10), RangeSpec::Single(7, 9));
        assert_eq!(parse_range(b"bytes=-30", 10), RangeSpec::Single(0, 9));
        assert_eq!(parse_range(b"bytes=5-100", 10), RangeSpec::Single(5, 9));
        assert_eq!(parse_range(b"bytes=10-", 10), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-0", 10), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range(b"bytes=5-2", 10), RangeSpec::Ignore);
        assert_eq!(parse_range(b"items=0-1", 10), RangeSpec::Ignore);
        assert_eq!(
            parse_range(b"bytes=0-1,3-4", 10),
            RangeSpec::Multi(vec![(0, 1), (3, 4)])
        );
        assert_eq!(parse_range(b"bytes=0-1,50-60", 10), RangeSpec::Single(0, 1));
        assert_eq!(parse_range(b"bytes=50-,60-", 10), RangeSpec::Unsatisfiable);
        assert_eq!(
            parse_range(b"bytes=0-5,3-4", 10),
            RangeSpec::Ignore,
            "overlap"
        );
        let many = format!("bytes={}", vec!["0-0"; 17].join(","));
        assert_eq!(parse_range(many.as_bytes(), 10), RangeSpec::Ignore);
        assert_eq!(parse_range(b"bytes=x-1", 10), RangeSpec::Ignore);
        assert_eq!(
            parse_range(b"bytes=99999999999999999999999-", 10),
            RangeSpec::Unsatisfiable
        );
    }

    #[test]
    fn put_streams_to_temp_then_renames_and_delete_removes() {
        let (_o, root, sf) = setup();
        let req = Request::new("PUT", "/new.txt");
        let BodyMode::Stream(mut sink) = sf.body_mode(&req) else {
            panic!("expected a sink")
        };
        sink.data(b"part1 ").unwrap();
        assert!(!root.0.join("new.txt").exists(), "visible before complete");
        sink.data(b"part2").unwrap();
        assert_eq!(sink.finish(&req).status(), 201);
        assert_eq!(fs::read(root.0.join("new.txt")).unwrap(), b"part1 part2");
        // Replace: 204.
        let req = Request::new("PUT", "/new.txt").with_body("v2");
        assert_eq!(sf.handle(&req).status(), 204);
        assert_eq!(fs::read(root.0.join("new.txt")).unwrap(), b"v2");
        // An abandoned upload leaves nothing behind.
        let req = Request::new("PUT", "/gone.txt");
        let BodyMode::Stream(mut sink) = sf.body_mode(&req) else {
            panic!()
        };
        sink.data(b"half").unwrap();
        drop(sink);
        let left: Vec<_> = fs::read_dir(&root.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("gone"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(sf.handle(&Request::new("DELETE", "/new.txt")).status(), 204);
        assert!(!root.0.join("new.txt").exists());
        assert_eq!(sf.handle(&Request::new("DELETE", "/new.txt")).status(), 404);
    }

    #[test]
    fn writes_never_leave_the_root() {
        let (outer, _root, sf) = setup();
        for t in ["/../evil.txt", "/%2e%2e/evil.txt", "/outdir/evil.txt"] {
            match sf.body_mode(&Request::new("PUT", t)) {
                BodyMode::Reject(resp) => assert!([400, 403, 409].contains(&resp.status())),
                _ => panic!("{t} accepted"),
            }
        }
        assert_eq!(
            sf.handle(&Request::new("DELETE", "/outdir/secret.txt"))
                .status(),
            403
        );
        assert_eq!(
            sf.handle(&Request::new("DELETE", "/../secret.txt"))
                .status(),
            400
        );
        // Deleting an inside symlink pointing outside is refused; the target survives.
        assert_eq!(sf.handle(&Request::new("DELETE", "/out.txt")).status(), 403);
        assert!(outer.0.join("secret.txt").exists());
        assert!(!outer.0.join("evil.txt").exists());
    }

    #[test]
    fn read_only_refuses_put_and_delete_with_allow() {
        let (_o, root, _) = setup();
        let sf = StaticFiles::new(&root.0).unwrap();
        let resp = sf.handle(&Request::new("DELETE", "/a.txt"));
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.get_header("allow"), Some(&b"GET, HEAD, OPTIONS"[..]));
        assert!(matches!(
            sf.body_mode(&Request::new("PUT", "/a.txt")),
            BodyMode::Reject(_)
        ));
        assert!(root.0.join("a.txt").exists());
    }

    #[test]
    fn mime_types_by_extension() {
        assert_eq!(mime_type(Path::new("x.HTML")), "text/html; charset=utf-8");
        assert_eq!(mime_type(Path::new("x.png")), "image/png");
        assert_eq!(mime_type(Path::new("noext")), "application/octet-stream");
    }
}
