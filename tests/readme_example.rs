//! The README's example is `examples/line_len.rs`, word for word; its test runs here.

#[allow(dead_code)] // its `main` serves forever; the test below drives `LineLen` instead
#[path = "../examples/line_len.rs"]
mod line_len;

#[test]
fn the_readme_shows_examples_line_len_word_for_word() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/line_len.rs");
    let body = &example[example.find("use netreactor::bytes").unwrap()..];
    assert!(
        readme.contains(&format!("```rust\n{body}```")),
        "README.md's example differs from examples/line_len.rs"
    );
}
