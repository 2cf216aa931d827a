//! lftp mirrors a directory tree up to the FTP server and back down; the copies match.

mod common;
#[path = "ftp/support.rs"]
mod support;

use std::path::Path;
use std::process::Command;

fn tree(dir: &Path) {
    for (i, sub) in ["a", "a/b", "a/b/c", "d", "space dir", "unicod\u{e9}"]
        .iter()
        .enumerate()
    {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        for j in 0..3 {
            let body: Vec<u8> = (0..(i * 40_000 + j * 777))
                .map(|k| (k * 31 % 256) as u8)
                .collect();
            std::fs::write(d.join(format!("f{j}.bin")), body).unwrap();
        }
    }
    std::fs::write(dir.join("empty"), b"").unwrap();
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push((rel + "/", Vec::new()));
                stack.push(p);
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn lftp(f: &support::Fixture, script: &str) -> String {
    common::require_tool("lftp");
    let full = format!(
        "set net:max-retries 1; set net:timeout 10; set ftp:ssl-allow no; \
         open -u foo,bar ftp://{}; {script}",
        f.addr()
    );
    support::run(Command::new("lftp").arg("-c").arg(full))
}

#[test]
fn lftp_mirrors_a_tree_up_and_down_unchanged() {
    let f = support::start();
    let src = f.outside.join("src");
    tree(&src);
    lftp(&f, &format!("mirror -R {} /up", src.display()));
    assert_eq!(
        snapshot(&f.root.join("up")),
        snapshot(&src),
        "uploaded tree"
    );
    let back = f.outside.join("back");
    lftp(&f, &format!("mirror /up {}", back.display()));
    assert_eq!(snapshot(&back), snapshot(&src), "downloaded tree");
}
