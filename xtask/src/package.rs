//! What users get: the published packages, and every feature combination they can pick.
//!
//! * Packaging: `cargo package` of every published crate at once (cargo packages workspace
//!   crates together, resolving their dependencies on each other through a local registry of
//!   the just-built packages), which *verifies* each package by building it from its own
//!   unpacked sources, with every feature so that no source file escapes the build. Then every
//!   package's file list must hold the license texts and the crate's README.
//! * Features: each published crate in each feature combination a user can pick that the
//!   workspace-wide `--all-features` runs do not cover: clippy over all its targets (which
//!   catches code, tests and examples that need a feature without saying so) and its doc tests
//!   (its README and examples, as a user with those features would run them).
//!
//! Both work offline once the dependencies are in cargo's cache (as the earlier CI steps leave
//! them): packaging then resolves from the cached index.

use std::process::Command;

use crate::util::{Step, cargo};

/// The crates published for users, in dependency order.
pub(crate) const PUBLISHED: [&str; 5] = [
    "syncmap-core",
    "syncmap-testsuite",
    "syncmap-epoch",
    "syncmap-arcswap",
    "syncmap-serde",
];

/// The files every package must ship.
const REQUIRED_FILES: [&str; 3] = ["LICENSE-MIT", "LICENSE-APACHE", "README.md"];

/// Feature combinations a user can pick, as `(crate, features)`, besides all features (the
/// `tests`, `clippy` and `docs` steps). Every crate's features are off by default, so `""` is
/// both `--no-default-features` and the default; `syncmap-testsuite` has no features.
pub(crate) const FEATURE_COMBINATIONS: [(&str, &str); 6] = [
    ("syncmap-core", ""),
    ("syncmap-epoch", ""),
    ("syncmap-epoch", "seize"),
    ("syncmap-epoch", "rayon"),
    ("syncmap-arcswap", ""),
    ("syncmap-serde", ""),
];

/// `cargo package` of every published crate, verified.
fn package_command() -> Command {
    let mut command = cargo(["package", "--all-features", "--allow-dirty"]);
    for package in PUBLISHED {
        command.args(["--package", package]);
    }
    command
}

/// Every published package lists the license texts and its README.
fn check_package_contents() -> Result<(), String> {
    for package in PUBLISHED {
        let output = cargo(["package", "--list", "--allow-dirty", "--package", package])
            .output()
            .map_err(|e| format!("cannot run `cargo package --list`: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`cargo package --list -p {package}` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let listing = String::from_utf8_lossy(&output.stdout);
        for file in REQUIRED_FILES {
            if !listing.lines().any(|line| line == file) {
                return Err(format!("the {package} package lacks {file}"));
            }
        }
    }
    Ok(())
}

/// `cargo <subcommand> -p <package> --no-default-features --features <features>`.
fn with_features(subcommand: &str, package: &str, features: &str) -> Command {
    cargo([
        subcommand,
        "--package",
        package,
        "--no-default-features",
        "--features",
        features,
    ])
}

/// The packaging and feature-combination steps of `cargo xtask ci`.
pub(crate) fn ci_steps() -> Vec<Step> {
    let mut steps = vec![
        Step::new(
            "package: every published crate, verified",
            package_command(),
        ),
        Step::check(
            "package: licenses and README in every package",
            check_package_contents,
        ),
    ];
    for (package, features) in FEATURE_COMBINATIONS {
        let label = format!("features: {package} [{features}]");
        let mut clippy = with_features("clippy", package, features);
        clippy.args(["--all-targets", "--", "-D", "warnings"]);
        steps.push(Step::new(format!("{label}: clippy"), clippy));
        let mut doc_tests = with_features("test", package, features);
        doc_tests.arg("--doc");
        steps.push(Step::new(format!("{label}: doc tests"), doc_tests));
    }
    steps
}
