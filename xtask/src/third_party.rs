//! A third party's path through the conformance suite, as its README walks through it: the
//! example crate of `crates/syncmap-testsuite/README.md` (its `Cargo.toml`, `src/lib.rs` and
//! `tests/conformance.rs`, each a code block whose first line names the file), written out as a
//! fresh crate outside the workspace and tested against the *packaged* crates.
//!
//! The crate's `Cargo.toml` names the crates by version, as a user's does; the only addition
//! here is a `[patch]` section that points those names at the packages `cargo xtask package`
//! built and unpacked (their files exactly as published, with their normalized manifests), and
//! the workspace's `Cargo.lock`, so that the dependencies resolve to the versions CI checked.
//! In `cargo xtask ci` these steps follow the packaging steps; `cargo xtask third-party` runs
//! the packaging first.

use std::path::{Path, PathBuf};

use crate::{
    package,
    util::{Step, cargo, run_steps},
};

/// The README that holds the example.
const README: &str = "crates/syncmap-testsuite/README.md";

/// The example's files: each must be one code block of the README.
const FILES: [&str; 3] = ["Cargo.toml", "src/lib.rs", "tests/conformance.rs"];

/// The packaged crates the example depends on (directly, or through the suite).
const PATCHED: [&str; 2] = ["syncmap-core", "syncmap-testsuite"];

/// The code blocks of `markdown` whose first line is a comment naming a file (`# path` or
/// `// path`), as `(path, text)`; the text keeps that line.
fn named_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("```") || line.trim() == "```" {
            continue;
        }
        let mut text = String::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            text.push_str(line);
            text.push('\n');
        }
        let first = text.lines().next().unwrap_or_default();
        let name = first
            .strip_prefix("// ")
            .or_else(|| first.strip_prefix("# "))
            .map(str::trim);
        if let Some(name) = name.filter(|n| FILES.contains(n)) {
            blocks.push((name.to_string(), text));
        }
    }
    blocks
}

/// Where the packaging step unpacked `crate_name`'s package.
fn unpacked(crate_name: &str) -> PathBuf {
    let version = workspace_version();
    package::verify_target_dir()
        .join("package")
        .join(format!("{crate_name}-{version}"))
}

/// The workspace's version (`[workspace.package]`), which every published crate shares.
fn workspace_version() -> String {
    let manifest = std::fs::read_to_string("Cargo.toml").unwrap_or_default();
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| {
            let value = l.trim().strip_prefix("version")?.trim().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
        .expect("Cargo.toml has [workspace.package] version")
}

/// The example crate's directory: outside the workspace, fresh for every run.
fn example_dir() -> PathBuf {
    std::env::temp_dir().join("syncmap-third-party-example")
}

/// Writes the README's example out as a fresh crate that uses the packaged crates.
fn write_example() -> Result<(), String> {
    let readme = std::fs::read_to_string(README).map_err(|e| format!("{README}: {e}"))?;
    let blocks = named_blocks(&readme);
    for file in FILES {
        let n = blocks.iter().filter(|(name, _)| name == file).count();
        if n != 1 {
            return Err(format!(
                "{README} must hold one code block that starts with a comment naming `{file}` \
                 (found {n})"
            ));
        }
    }
    for krate in PATCHED {
        let dir = unpacked(krate);
        if !dir.join("Cargo.toml").is_file() {
            return Err(format!("no packaged {krate} in {}", dir.display()));
        }
    }
    let dir = example_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for (name, text) in blocks {
        let path = dir.join(&name);
        std::fs::create_dir_all(path.parent().expect("a file in the crate"))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut text = text;
        if name == "Cargo.toml" {
            text.push_str(
                "\n# Added by `cargo xtask third-party`: the packaged crates, not the registry's.\n\
                 [patch.crates-io]\n",
            );
            for krate in PATCHED {
                let path = absolute(&unpacked(krate));
                text.push_str(&format!("{krate} = {{ path = {:?} }}\n", path.display()));
            }
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    std::fs::copy("Cargo.lock", dir.join("Cargo.lock"))
        .map_err(|e| format!("copy Cargo.lock: {e}"))?;
    eprintln!("the example crate is in {}", dir.display());
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir()
        .expect("a current directory")
        .join(path)
}

/// `cargo test` in the example crate, with a target directory of its own in the workspace's
/// (kept between runs, so that a second run builds only the example).
fn test_example() -> std::process::Command {
    let mut command = cargo(["test"]);
    command.current_dir(example_dir()).env(
        "CARGO_TARGET_DIR",
        absolute(Path::new(&crate::util::target_subdir("third-party"))),
    );
    command
}

/// The steps of `cargo xtask third-party`, and of CI after the packaging steps.
pub(crate) fn ci_steps() -> Vec<Step> {
    vec![
        Step::check(
            "third party: the suite README's example crate, written out",
            write_example,
        ),
        Step::new(
            "third party: the example's own tests against the packaged crates",
            test_example(),
        ),
    ]
}

/// `cargo xtask third-party`: packages the crates (as `cargo xtask package` does, without its
/// feature combinations), then runs the example against those packages.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`third-party` takes no arguments (got `{arg}`)"));
    }
    // Always packaged afresh: packages left by an earlier run may predate the sources.
    let mut steps: Vec<Step> = package::ci_steps().into_iter().take(2).collect();
    steps.extend(ci_steps());
    run_steps(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_blocks_only() {
        let markdown = "text\n```toml\n# Cargo.toml\n[package]\n```\n\
                        ```rust\n// src/lib.rs\npub fn f() {}\n```\n\
                        ```rust\nlet unnamed = 1;\n```\n\
                        ```rust,ignore\n// tests/conformance.rs\nm!();\n```\n";
        let blocks = named_blocks(markdown);
        let names: Vec<&str> = blocks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Cargo.toml", "src/lib.rs", "tests/conformance.rs"]);
        assert_eq!(blocks[1].1, "// src/lib.rs\npub fn f() {}\n");
    }

    #[test]
    fn the_readme_holds_the_example() {
        crate::util::enter_project_root();
        let readme = std::fs::read_to_string(README).unwrap();
        let blocks = named_blocks(&readme);
        for file in FILES {
            assert_eq!(
                blocks.iter().filter(|(name, _)| name == file).count(),
                1,
                "{file}"
            );
        }
    }
}
