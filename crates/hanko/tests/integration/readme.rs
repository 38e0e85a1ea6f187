//! The README's library example is `examples/receive.rs`, line for line: the example is
//! compiled (and run by `scripts/examples.sh`), so the README cannot show code that does not
//! build.

#[test]
fn the_readme_shows_the_receive_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/receive.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    let body = example
        .split("    // README begin\n")
        .nth(1)
        .and_then(|rest| rest.split("    // README end\n").next())
        .expect("markers in examples/receive.rs");
    let snippet: Vec<&str> = body
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    let block = format!("```rust\n{}\n```", snippet.join("\n"));
    assert!(readme.contains(&block), "README.md lacks:\n{block}");
}
