//! A static-file server on a root directory: GET/HEAD with MIME types, `index.html`, HTML
//! directory listings, `ETag`/`Last-Modified` and conditional requests (304), `Range` (206 /
//! 416), bodies sent with `sendfile`; PUT (to a temp file, renamed when complete) and DELETE
//! when writable.
//!
//! Nothing outside the root is ever served or touched: targets with `..` segments (also
//! percent-encoded), backslashes or NUL bytes are refused with 400, and every path is
//! canonicalised (symlinks resolved) and must stay under the canonical root (403 otherwise).
//! Dot-files and dot-directories are hidden (404, left out of listings) unless
//! [`StaticFiles::show_hidden`] says otherwise.
//!
//! Paths are bytes: a request path is percent-decoded to bytes and mapped to an `OsStr`, so
//! names that are not UTF-8 are served and listed. Nothing opened here can block the reactor:
//! files are opened with `O_NONBLOCK` and refused (403) unless they are regular files (a
//! FIFO, a device or a socket is never read nor written).

use std::ffi::OsStr;
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::file_cache::{CachedFile, FileCache};
use super::handler::{
    strip_scheme_authority, Body, BodyMode, BodyPart, BodySink, Handler, Request, Response,
};
pub use super::listing::{html_escape, listing_html, percent_encode_segment, SortOrder};
use super::mime;
pub use super::mime::mime_type;
use super::url::percent_decode_bytes;

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
    show_hidden: bool,
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
            show_hidden: false,
            hidden: Vec::new(),
            cache: Some(Rc::default()),
        })
    }

    /// Keeps small files in memory between requests (on by default; see the small-file
    /// cache in `docs/http.md`).
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

    /// Serves, lists and writes dot-files and dot-directories too (off by default: a name
    /// starting with `.` anywhere in the path answers 404 and is not listed).
    pub fn show_hidden(mut self, show: bool) -> StaticFiles {
        self.show_hidden = show;
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
    /// Err: the status to answer (400 for traversal attempts and forbidden bytes, 404 for a
    /// hidden name).
    pub fn map_target(&self, raw_target: &[u8]) -> Result<PathBuf, u16> {
        self.map(raw_target).map(|m| m.0)
    }

    /// [`map_target`](Self::map_target), and whether the path ends in `/` or `/.` (names a
    /// directory).
    fn map(&self, raw_target: &[u8]) -> Result<(PathBuf, bool), u16> {
        // Absolute-form: keep the path; anything else must be origin-form.
        let raw = strip_scheme_authority(target_path(raw_target));
        if raw.first() != Some(&b'/') {
            return Err(400);
        }
        let decoded = percent_decode_bytes(raw).map_err(|_| 400u16)?;
        if decoded.contains(&b'\\') {
            return Err(400);
        }
        let mut path = self.root.clone();
        for seg in decoded.split(|&b| b == b'/') {
            match seg {
                b"" | b"." => {}
                b".." => return Err(400),
                s if s[0] == b'.' && !self.show_hidden => return Err(404),
                s => path.push(OsStr::from_bytes(s)),
            }
        }
        let trailing = decoded.ends_with(b"/") || decoded.ends_with(b"/.");
        Ok((path, trailing))
    }

    /// The URL path (percent-encoded, from `/`) of a mapped path under the root.
    fn url_of(&self, path: &Path) -> String {
        let mut url = String::new();
        if let Ok(below) = path.strip_prefix(&self.root) {
            for comp in below.iter() {
                url.push('/');
                url.push_str(&percent_encode_segment(comp.as_bytes()));
            }
        }
        if url.is_empty() {
            url.push('/');
        }
        url
    }

    /// True when `path` (resolved) lies under the root, not in a hidden directory, and (unless
    /// hidden names are shown) with no dot-name below the root: a symlink cannot lead into
    /// `.git/`.
    fn inside(&self, path: &Path) -> bool {
        let Ok(below) = path.strip_prefix(&self.root) else {
            return false;
        };
        !self.hidden.iter().any(|h| path.starts_with(h))
            && (self.show_hidden || !below.iter().any(|c| c.as_bytes().first() == Some(&b'.')))
    }

    /// Maps and canonicalises an existing path, with its metadata; 404 when missing, 403
    /// when it resolves outside the root.
    ///
    /// The mapped path is the canonical root plus plain names, so when no component below
    /// the root is a symbolic link it is canonical already: one `lstat` per component (for
    /// `/index.html`, one) answers both questions, where `realpath` would `readlink` every
    /// component from `/` and a `stat` would follow. A symbolic link anywhere takes the
    /// full `canonicalize` path.
    fn resolve_existing(&self, mapped: &Path) -> Result<(PathBuf, Metadata), u16> {
        let mapped = mapped.to_path_buf();
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
        if name.as_bytes().iter().any(|&b| b < 0x20 || b == 0x7f) {
            // A name with CR, LF, ESC...: forged lines in listings and logs.
            return Err(400);
        }
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
        let (mapped, trailing) = match self.map(req.raw_target()) {
            Ok(m) => m,
            Err(status) => return Response::error(status),
        };
        let (path, meta) = match self.resolve_existing(&mapped) {
            Ok(found) => found,
            Err(status) => return Response::error(status),
        };
        if meta.is_dir() {
            if !trailing && mapped != self.root {
                // Built from the mapped path, never the raw one: `//sub` gives `/sub/`, not a
                // protocol-relative `//sub/`.
                let mut location = self.url_of(&mapped);
                location.push('/');
                if let Some(q) = req.query() {
                    location.push('?');
                    location.push_str(q);
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
            let below = mapped.strip_prefix(&self.root).unwrap_or(Path::new(""));
            let order = SortOrder::from_query(req.query());
            return match listing_html(&path, below, order, self.show_hidden) {
                Ok(html) => Response::html(200, html),
                Err(_) => Response::error(403),
            };
        }
        if trailing {
            // A file is not a directory: `/a.txt/` names nothing (as nginx and Python say).
            return Response::error(404);
        }
        if !meta.is_file() {
            return Response::error(403);
        }
        self.serve_file(req, &path, &meta)
    }

    fn serve_file(&self, req: &Request, path: &Path, meta: &Metadata) -> Response {
        let open = || match open_regular(path) {
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
        let mime = if mime::wants_sniff(path) {
            let mut head = [0u8; mime::SNIFF_LEN];
            let n = match &source {
                Source::Cached(c) => {
                    let n = c.body.len().min(head.len());
                    head[..n].copy_from_slice(&c.body[..n]);
                    n
                }
                Source::File(f) => f.read_at(&mut head, 0).unwrap_or(0),
            };
            mime::mime_for(path, &head[..n])
        } else {
            mime::mime_type(path)
        };
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
        let existed = match fs::symlink_metadata(&entry).and_then(|m| {
            // A symlink (checked to stay inside) is judged by what it points to.
            if m.file_type().is_symlink() {
                fs::metadata(&entry)
            } else {
                Ok(m)
            }
        }) {
            Ok(m) if m.is_dir() => return Err(Response::error(409)),
            // A FIFO, a device or a socket is never replaced nor written.
            Ok(m) if !m.is_file() => return Err(Response::error(403)),
            Ok(_) => true,
            Err(_) => false,
        };
        let location = self.url_of(&entry);
        PutSink::create(entry, existed, location).map_err(|e| {
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
    /// The target's URL path, for the `Location` of a 201.
    location: String,
}

impl PutSink {
    fn create(target: PathBuf, existed: bool, location: String) -> io::Result<PutSink> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let seq = UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed);
        let temp = target.with_file_name(format!(".{name}.upload-{}-{seq}", std::process::id()));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&temp)?;
        Ok(PutSink {
            temp,
            target,
            file: Some(file),
            existed,
            location,
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
            Response::new(201).header("Location", std::mem::take(&mut self.location))
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

/// Opens `path` for reading without ever blocking (`O_NONBLOCK`: opening a FIFO with no
/// writer returns at once) and only if it is a regular file (checked on the open file, so a
/// swap after an earlier `stat` is caught too): `PermissionDenied` otherwise.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "not a regular file",
        ));
    }
    Ok(file)
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

#[cfg(test)]
#[path = "static_files_tests.rs"]
mod tests;
