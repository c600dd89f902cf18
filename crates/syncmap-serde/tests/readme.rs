//! The README's snapshot example is marked `ignore` there (the README is doctested by a crate
//! that does not depend on this one); this checks it is, line for line, the crate doc example of
//! `src/lib.rs`, which is doctested here.

use std::path::Path;

/// The body of the first code block after `heading` in a Markdown file.
fn readme_block(readme: &str, heading: &str) -> Vec<String> {
    let section = &readme[readme.find(heading).expect("README section")..];
    let mut lines = section.lines().skip_while(|l| !l.starts_with("```rust"));
    lines.next().expect("a rust code block in the section");
    lines
        .take_while(|l| !l.starts_with("```"))
        .map(str::to_owned)
        .collect()
}

/// The body of the first code block under `//! # Examples` in a crate root.
fn crate_doc_example(lib: &str) -> Vec<String> {
    let docs = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l));
    let mut lines = docs
        .skip_while(|l| *l != "# Examples")
        .skip_while(|l| *l != "```");
    lines.next().expect("a code block under # Examples");
    lines
        .take_while(|l| *l != "```")
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_snapshot_example_is_the_tested_crate_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let in_readme = readme_block(&readme, "## Snapshots (serde)");
    assert!(in_readme.len() > 5, "{in_readme:?}");
    assert!(in_readme.iter().any(|l| l.contains("Snapshot::of(&live)")));
    assert_eq!(in_readme, crate_doc_example(&lib));
}
