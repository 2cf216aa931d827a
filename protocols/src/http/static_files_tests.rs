//! Tests of the static-file server.
use super::*;
use std::os::unix::fs::symlink;

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let seq = UPLOAD_SEQ.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("nr-static-{tag}-{}-{seq}", std::process::id()));
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

fn html_of(resp: &Response) -> String {
    let Body::Bytes(html) = resp.get_body() else {
        panic!("listing not in memory")
    };
    String::from_utf8(html.to_vec()).unwrap()
}

#[test]
fn a_file_is_not_served_under_a_trailing_slash_path() {
    let (_o, _r, sf) = setup();
    assert_eq!(sf.handle(&Request::new("GET", "/a.txt")).status(), 200);
    for path in ["/a.txt/", "/a.txt/.", "/sub/x.html/", "/a.txt%2F"] {
        assert_eq!(
            sf.handle(&Request::new("GET", path)).status(),
            404,
            "{path}"
        );
    }
    assert_eq!(sf.handle(&Request::new("GET", "/sub/.")).status(), 200);
}

#[test]
fn directory_redirect_location_is_built_from_the_normalised_path() {
    let (_o, _r, sf) = setup();
    for (target, want) in [
        ("//sub", "/sub/"),
        ("///sub", "/sub/"),
        ("/./sub", "/sub/"),
        ("/%2Fsub", "/sub/"),
        ("/sub?x=1", "/sub/?x=1"),
        ("http://evil.example//sub", "/sub/"),
    ] {
        let resp = sf.handle(&Request::new("GET", target));
        assert_eq!(resp.status(), 301, "{target}");
        assert_eq!(
            resp.get_header("location"),
            Some(want.as_bytes()),
            "{target}"
        );
    }
}

#[test]
fn names_that_are_not_utf8_are_listed_as_raw_bytes_and_served() {
    use std::os::unix::ffi::OsStrExt;
    let (_o, root, sf) = setup();
    fs::create_dir(root.0.join("d")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"\xe7w\xf0.txt");
    fs::write(root.0.join("d").join(name), "latin1").unwrap();
    let html = html_of(&sf.handle(&Request::new("GET", "/d/")));
    assert!(html.contains("href=\"%E7w%F0.txt\""), "{html}");
    assert!(html.contains("\u{fffd}w\u{fffd}.txt"), "{html}");
    let resp = sf.handle(&Request::new("GET", "/d/%E7w%F0.txt"));
    assert_eq!(resp.status(), 200);
    assert_eq!(body_bytes(&resp), b"latin1");
    assert_eq!(
        sf.handle(&Request::new("GET", "/d/%EF%BF%BDw%EF%BF%BD.txt"))
            .status(),
        404
    );
}

#[test]
fn dot_files_and_dot_directories_are_hidden_unless_shown() {
    let (_o, root, sf) = setup();
    fs::create_dir(root.0.join(".git")).unwrap();
    fs::write(root.0.join(".git/config"), "secret").unwrap();
    fs::write(root.0.join(".env"), "KEY=1").unwrap();
    fs::create_dir(root.0.join("target")).unwrap();
    symlink(root.0.join(".git/config"), root.0.join("cfg")).unwrap();
    for path in [
        "/.git/config",
        "/.git/",
        "/.git",
        "/.env",
        "/%2Eenv",
        "/cfg",
    ] {
        assert_eq!(
            sf.handle(&Request::new("GET", path)).status(),
            if path == "/cfg" { 403 } else { 404 },
            "{path}"
        );
    }
    assert_eq!(
        sf.handle(&Request::new("PUT", "/.env").with_body("x"))
            .status(),
        404
    );
    let html = html_of(&sf.handle(&Request::new("GET", "/")));
    assert!(!html.contains(".git") && !html.contains(".env"), "{html}");
    assert!(
        html.contains("href=\"target/\""),
        "target/ is not a dot-name: {html}"
    );
    let shown = sf.clone().show_hidden(true);
    assert_eq!(shown.handle(&Request::new("GET", "/.env")).status(), 200);
    assert_eq!(shown.handle(&Request::new("GET", "/cfg")).status(), 200);
    let html = html_of(&shown.handle(&Request::new("GET", "/")));
    assert!(
        html.contains("href=\".git/\"") && html.contains("href=\".env\""),
        "{html}"
    );
}

#[test]
fn put_refuses_names_with_control_characters() {
    let (_o, root, sf) = setup();
    for path in [
        "/note.txt%0d%0a-rw-r--r--",
        "/a%09b",
        "/bell%07",
        "/del%7f",
        "/esc%1b[31m",
    ] {
        let resp = sf.handle(&Request::new("PUT", path).with_body("x"));
        assert_eq!(resp.status(), 400, "{path}");
        let BodyMode::Reject(resp) = sf.body_mode(&Request::new("PUT", path)) else {
            panic!("{path}: a sink for a forged name")
        };
        assert_eq!(resp.status(), 400);
    }
    let names: Vec<_> = fs::read_dir(&root.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.to_string_lossy().contains(|c: char| c.is_control())),
        "{names:?}"
    );
}

#[test]
fn listing_escapes_control_characters_in_names() {
    let (_o, root, sf) = setup();
    fs::write(root.0.join("sub/evil\r\nline.txt"), "x").unwrap();
    let html = html_of(&sf.handle(&Request::new("GET", "/sub/")));
    assert!(html.contains("href=\"evil%0D%0Aline.txt\""), "{html}");
    assert!(html.contains("evil\\x0d\\x0aline.txt"), "{html}");
    assert!(!html.contains("evil\r"));
}

#[test]
fn put_that_creates_a_file_answers_201_with_its_location() {
    let (_o, _r, sf) = setup();
    let resp = sf.handle(&Request::new("PUT", "/sub/new%20file.txt").with_body("x"));
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.get_header("location"),
        Some(&b"/sub/new%20file.txt"[..])
    );
    let resp = sf.handle(&Request::new("PUT", "/sub/new%20file.txt").with_body("y"));
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.get_header("location"), None);
}

#[test]
fn fifo_in_the_root_is_refused_without_blocking() {
    let (_o, root, sf) = setup();
    let fifo = root.0.join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let started = std::time::Instant::now();
    assert_eq!(sf.handle(&Request::new("GET", "/pipe")).status(), 403);
    assert_eq!(
        sf.handle(&Request::new("PUT", "/pipe").with_body("x"))
            .status(),
        403
    );
    assert!(matches!(
        sf.body_mode(&Request::new("PUT", "/pipe")),
        BodyMode::Reject(_)
    ));
    assert!(open_regular(&fifo).is_err(), "a FIFO opened as a file");
    assert!(started.elapsed() < Duration::from_secs(2));
    use std::os::unix::fs::FileTypeExt;
    assert!(root
        .0
        .join("pipe")
        .metadata()
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn source_files_and_extensionless_text_display_as_text() {
    let (_o, root, sf) = setup();
    fs::write(root.0.join("main.rs"), "fn main() {}").unwrap();
    fs::write(root.0.join("NOTES"), "plain words\n").unwrap();
    fs::write(root.0.join("blob"), b"\x7fELF\0\0\0").unwrap();
    let ct = |p: &str| {
        sf.handle(&Request::new("GET", p))
            .get_header("content-type")
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(ct("/main.rs").as_deref(), Some("text/plain; charset=utf-8"));
    assert_eq!(ct("/NOTES").as_deref(), Some("text/plain; charset=utf-8"));
    assert_eq!(ct("/blob").as_deref(), Some("application/octet-stream"));
    let nocache = sf.clone().file_cache(false);
    let resp = nocache.handle(&Request::new("GET", "/NOTES"));
    assert_eq!(
        resp.get_header("content-type"),
        Some(&b"text/plain; charset=utf-8"[..])
    );
}

#[test]
fn listing_is_a_table_sorted_by_the_chosen_column_with_directories_first() {
    let (_o, root, sf) = setup();
    let d = root.0.join("sorted");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("b.txt"), "1").unwrap();
    fs::write(d.join("a.txt"), "12345").unwrap();
    fs::write(d.join("c.txt"), "123").unwrap();
    fs::create_dir(d.join("zdir")).unwrap();
    let order = |q: &str| {
        let html = html_of(&sf.handle(&Request::new("GET", &format!("/sorted/{q}"))));
        let mut names = Vec::new();
        for row in html.split("<td class=\"name\"><a href=\"").skip(1) {
            names.push(row[..row.find('"').unwrap()].to_string());
        }
        names
    };
    assert_eq!(order(""), ["../", "zdir/", "a.txt", "b.txt", "c.txt"]);
    assert_eq!(
        order("?sort=name&order=desc"),
        ["../", "zdir/", "c.txt", "b.txt", "a.txt"]
    );
    assert_eq!(
        order("?sort=size"),
        ["../", "zdir/", "b.txt", "c.txt", "a.txt"]
    );
    assert_eq!(
        order("?sort=size&order=desc"),
        ["../", "zdir/", "a.txt", "c.txt", "b.txt"]
    );
    let html = html_of(&sf.handle(&Request::new("GET", "/sorted/?sort=size")));
    assert!(html.contains("<table>") && html.contains("prefers-color-scheme"));
    assert!(
        html.contains("href=\"?sort=size&amp;order=desc\""),
        "the current column flips: {html}"
    );
    assert!(html.contains("href=\"?sort=mtime&amp;order=asc\""));
    assert!(
        html.contains("<a href=\"../\">/</a><a href=\"./\">sorted</a>/"),
        "breadcrumbs: {html}"
    );
}
