//! Replays every fuzz target's checked-in corpus on the stable toolchain, so plain
//! `cargo test` exercises each target (and each past crash kept as a regression input).

use std::fs;
use std::path::Path;

#[test]
fn every_fuzz_target_has_an_entry_point_and_a_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let targets = netreactor_protocols::fuzz_targets();
    let names: Vec<&str> = targets.iter().map(|t| t.0).collect();
    let mut files = 0;
    for entry in fs::read_dir(root.join("fuzz_targets")).expect("fuzz/fuzz_targets") {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        files += 1;
        assert!(
            names.contains(&name.as_str()),
            "fuzz target {name} has no entry in netreactor_protocols::fuzz_targets()"
        );
        let corpus = root.join("corpus").join(&name);
        let seeds = fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
        assert!(
            seeds > 0,
            "fuzz target {name} has no seed corpus in {corpus:?}"
        );
    }
    assert_eq!(
        files,
        targets.len(),
        "entry points without a fuzz target file"
    );
}

#[test]
fn replay_every_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, run) in netreactor_protocols::fuzz_targets() {
        for dir in ["corpus", "artifacts"] {
            let Ok(entries) = fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_file() {
                    run(&fs::read(&path).unwrap());
                }
            }
        }
    }
}
