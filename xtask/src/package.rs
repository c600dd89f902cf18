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
    command.env("CARGO_TARGET_DIR", verify_target_dir());
    for package in PUBLISHED {
        command.args(["--package", package]);
    }
    command
}

/// The target directory of the packaging step: its own, so that [`forget_unpacked_packages`]
/// can drop the verify builds of our crates without touching the other steps' builds.
pub(crate) fn verify_target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || std::path::PathBuf::from("target"),
            std::path::PathBuf::from,
        )
        .join("package-verify")
}

/// Forgets what earlier packaging runs unpacked and built. cargo unpacks the local registry of
/// just-built packages into `$CARGO_HOME/registry/src/-<hash>/<crate>-<version>` and reuses that
/// directory while the version stays the same, so after an API change the verify build of a
/// dependent package would compile against a stale copy of its dependency (a fresh CI machine
/// has none). Only our own crates, and only in such local registries (whose directory names
/// start with `-`; crates.io's never do), are removed. For the same reason (cargo takes a
/// registry crate of an unchanged version as unchanged), the verify builds' fingerprints of our
/// crates go too.
fn forget_unpacked_packages() -> Result<(), String> {
    let fingerprints = verify_target_dir().join("debug").join(".fingerprint");
    if let Ok(entries) = std::fs::read_dir(&fingerprints) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("syncmap-") {
                std::fs::remove_dir_all(entry.path())
                    .map_err(|e| format!("cannot remove {}: {e}", entry.path().display()))?;
            }
        }
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(home) = home else {
        return Ok(());
    };
    for kind in ["src", "cache"] {
        let Ok(registries) = std::fs::read_dir(home.join("registry").join(kind)) else {
            continue;
        };
        for registry in registries.flatten() {
            if !registry.file_name().to_string_lossy().starts_with('-') {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(registry.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !PUBLISHED.iter().any(|p| name.starts_with(&format!("{p}-"))) {
                    continue;
                }
                let path = entry.path();
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
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
        Step::check(
            "package: forget earlier runs' unpacked packages",
            forget_unpacked_packages,
        ),
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
