//! The directory listing as a browser shows it: headless Chromium loads a listing sorted
//! two ways and the DOM holds the rows in that order; a screenshot of it is a real PNG.

mod common;
#[path = "http/support.rs"]
mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use support::start;

fn chromium(profile: &Path, extra: &[String], url: &str) -> Vec<u8> {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed on {url}");
    out.stdout
}

/// The names in the listing's rows, in document order.
fn row_names(dom: &str) -> Vec<String> {
    let mut names = Vec::new();
    for row in dom.split("<td class=\"name\"><a href=\"").skip(1) {
        let text = &row[row.find('>').unwrap() + 1..];
        names.push(text[..text.find("</a>").unwrap()].to_string());
    }
    names
}

#[test]
fn chromium_shows_the_listing_sorted_by_name_and_by_size() {
    common::require_tool("chromium");
    let f = start(|_| {});
    let d = f.root.join("gallery");
    fs::create_dir(&d).unwrap();
    fs::create_dir(d.join("photos")).unwrap();
    fs::write(d.join("big.bin"), vec![7u8; 300_000]).unwrap();
    fs::write(d.join("a & b <odd>.txt"), "tiny").unwrap();
    fs::write(d.join("notes.md"), "# notes\n".repeat(200)).unwrap();
    fs::write(d.join(".secret"), "hidden").unwrap();
    let old = SystemTime::now() - Duration::from_secs(86_400 * 400);
    fs::File::options()
        .write(true)
        .open(d.join("big.bin"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let profile = std::env::temp_dir().join(format!("nr-listing-chromium-{}", std::process::id()));
    let by_name = String::from_utf8(chromium(
        &profile,
        &["--dump-dom".into()],
        &f.url("/gallery/"),
    ))
    .unwrap();
    assert_eq!(
        row_names(&by_name),
        [
            "../",
            "photos/",
            "a &amp; b &lt;odd&gt;.txt",
            "big.bin",
            "notes.md"
        ],
        "{by_name}"
    );
    assert!(!by_name.contains(".secret"), "a dot-file was listed");
    assert!(
        by_name.contains("293 KiB"),
        "human-readable size: {by_name}"
    );
    let by_size = String::from_utf8(chromium(
        &profile,
        &["--dump-dom".into()],
        &f.url("/gallery/?sort=size&order=desc"),
    ))
    .unwrap();
    assert_eq!(
        row_names(&by_size),
        [
            "../",
            "photos/",
            "big.bin",
            "notes.md",
            "a &amp; b &lt;odd&gt;.txt"
        ],
        "{by_size}"
    );
    let shot = f.dir.join("listing.png");
    chromium(
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1000,700".into(),
        ],
        &f.url("/gallery/?sort=mtime"),
    );
    let png = fs::read(&shot).expect("a screenshot file");
    assert!(png.len() > 1000, "screenshot of {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    if let Ok(keep) = std::env::var("NR_KEEP_SCREENSHOT") {
        let _ = fs::copy(&shot, keep);
    }
    let _ = fs::remove_dir_all(&profile);
}
