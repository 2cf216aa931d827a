//! A per-thread cache of small static files, checked against the `lstat` every request makes.
//!
//! Serving a 14-byte `index.html` costs a static-file server `openat`, `fstat`, `pread` and
//! `close` per request — four of its seven system calls — and formatting its validators.
//! This cache keeps the bytes, `ETag` and `Last-Modified` of files up to [`MAX_FILE`] bytes,
//! keyed by path. Path resolution already `lstat`s the file on every request, and an entry
//! is used only when that metadata still names the same file: device, inode, size,
//! modification and status-change times. Any write, rename over, `chmod` or `touch` changes
//! the status-change time (`ctime`, which no call can set back), so a changed file is read
//! again. Timestamps are coarse (a few milliseconds), so a file is cached only once its
//! `ctime` is [`STABLE`] old: a write after the read then always yields a newer `ctime`.
//!
//! Where metadata can lag the content — an NFS attribute cache, a filesystem with 2-second
//! timestamps, writes through a shared mapping after the first — an entry is also read again
//! once it is [`MAX_AGE`] old, so an answer is never more than that behind the file (one
//! `open`/`pread`/`close` per file per second under load). `--no-file-cache` switches the
//! cache off.
//!
//! Bounded: [`MAX_ENTRIES`] files and [`MAX_BYTES`] in all per thread; beyond that, entries
//! are dropped to make room.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// Largest file kept (larger ones go out with `sendfile`, where a copy would cost more).
pub(crate) const MAX_FILE: u64 = 16 * 1024;
/// Bytes of file content kept per thread.
const MAX_BYTES: usize = 4 << 20;
/// Files kept per thread.
const MAX_ENTRIES: usize = 1024;
/// A file is cached only if its status last changed at least this long before it was read.
const STABLE: Duration = Duration::from_secs(1);
/// An entry is read again from the file once it is this old.
const MAX_AGE: Duration = Duration::from_secs(1);

/// What identifies one version of a file, as `lstat` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Version {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Version {
    fn of(meta: &Metadata) -> Version {
        Version {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// A cached file: its content and validators.
#[derive(Debug)]
pub(crate) struct CachedFile {
    version: Version,
    /// When the bytes were read.
    read_at: Instant,
    pub(crate) body: Bytes,
    pub(crate) etag: Bytes,
    pub(crate) last_modified: Bytes,
}

/// The cache. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct FileCache {
    inner: RefCell<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<PathBuf, Rc<CachedFile>>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, path: &Path) {
        if let Some(old) = self.map.remove(path) {
            self.bytes -= old.body.len();
        }
    }
}

impl FileCache {
    /// The cached file at `path`, if `meta` (just read) still describes it.
    pub(crate) fn get(&self, path: &Path, meta: &Metadata) -> Option<Rc<CachedFile>> {
        let mut inner = self.inner.borrow_mut();
        let hit = inner.map.get(path)?;
        if hit.version == Version::of(meta) && hit.read_at.elapsed() < MAX_AGE {
            return Some(hit.clone());
        }
        inner.remove(path);
        None
    }

    /// Reads `file` (opened from `path`, described by `meta`) into the cache if it is small
    /// and has been left alone for a while. `None` when it is not cached.
    pub(crate) fn fill(
        &self,
        path: &Path,
        meta: &Metadata,
        file: &File,
        etag: &str,
        last_modified: &str,
    ) -> Option<Rc<CachedFile>> {
        let version = Version::of(meta);
        if version.len > MAX_FILE || !settled(version.ctime) {
            return None;
        }
        let mut body = vec![0; version.len as usize];
        file.read_exact_at(&mut body, 0).ok()?;
        let entry = Rc::new(CachedFile {
            version,
            read_at: Instant::now(),
            body: Bytes::from(body),
            etag: Bytes::copy_from_slice(etag.as_bytes()),
            last_modified: Bytes::copy_from_slice(last_modified.as_bytes()),
        });
        let mut inner = self.inner.borrow_mut();
        inner.remove(path);
        while !inner.map.is_empty()
            && (inner.map.len() >= MAX_ENTRIES || inner.bytes + entry.body.len() > MAX_BYTES)
        {
            let victim = inner.map.keys().next().cloned().expect("not empty");
            inner.remove(&victim);
        }
        inner.bytes += entry.body.len();
        inner.map.insert(path.to_path_buf(), entry.clone());
        Some(entry)
    }

    /// Files cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.borrow().map.len()
    }
}

/// True when a status change at `ctime` is at least [`STABLE`] in the past.
fn settled((secs, nanos): (i64, i64)) -> bool {
    let Ok(secs) = u64::try_from(secs) else {
        return false;
    };
    let changed = UNIX_EPOCH + Duration::new(secs, nanos.clamp(0, 999_999_999) as u32);
    SystemTime::now()
        .duration_since(changed)
        .is_ok_and(|age| age >= STABLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits until files written so far count as settled (a status-change time cannot be
    /// set back, so there is no faster way).
    fn settle() {
        std::thread::sleep(STABLE + Duration::from_millis(50));
    }

    #[test]
    fn a_settled_small_file_is_kept_and_any_change_reads_it_again() {
        let dir = std::env::temp_dir().join(format!("nr-file-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        std::fs::write(&path, b"first").unwrap();
        let cache = FileCache::default();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let file = File::open(&path).unwrap();
        // Just written: not settled, not cached.
        assert!(cache.fill(&path, &meta, &file, "\"e\"", "lm").is_none());
        settle();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let hit = cache.fill(&path, &meta, &file, "\"e\"", "lm").unwrap();
        assert_eq!(&hit.body[..], b"first");
        assert_eq!(&cache.get(&path, &meta).unwrap().body[..], b"first");
        // Old enough to be read again, however unchanged its metadata looks.
        std::thread::sleep(MAX_AGE + Duration::from_millis(20));
        assert!(cache.get(&path, &meta).is_none());
        assert!(cache.fill(&path, &meta, &file, "\"e\"", "lm").is_some());
        // Same size, rewritten in place: the status-change time moves, the entry goes.
        std::fs::write(&path, b"secnd").unwrap();
        let changed = std::fs::symlink_metadata(&path).unwrap();
        assert!(cache.get(&path, &changed).is_none());
        assert_eq!(cache.len(), 0);
        // Too large: never kept.
        let big = dir.join("big");
        std::fs::write(&big, vec![1u8; MAX_FILE as usize + 1]).unwrap();
        settle();
        let meta = std::fs::symlink_metadata(&big).unwrap();
        let file = File::open(&big).unwrap();
        assert!(cache.fill(&big, &meta, &file, "\"e\"", "lm").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let dir = std::env::temp_dir().join(format!("nr-file-bound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; MAX_FILE as usize]).unwrap();
        settle();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let file = File::open(&path).unwrap();
        let cache = FileCache::default();
        // The same file under many names (as hard links would be): bytes stay bounded.
        for i in 0..(MAX_BYTES / MAX_FILE as usize + 20) {
            let name = dir.join(format!("name{i}"));
            assert!(cache.fill(&name, &meta, &file, "\"e\"", "lm").is_some());
        }
        let inner = cache.inner.borrow();
        assert!(inner.bytes <= MAX_BYTES, "{} bytes", inner.bytes);
        assert_eq!(inner.map.len(), MAX_BYTES / MAX_FILE as usize);
        drop(inner);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
