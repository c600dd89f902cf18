//! Verification beyond `cargo test`: loom model checking and AddressSanitizer.
//!
//! * `cargo xtask loom [--preemptions N]`: the loom models of `syncmap-core/tests/loom.rs`
//!   (`RUSTFLAGS="--cfg loom"`), with a preemption bound of 8 unless told otherwise.
//! * `cargo xtask asan`: every test target of the map crates (the conformance suite over each
//!   backend, the unit tests) under AddressSanitizer and LeakSanitizer, on the stable toolchain
//!   (`RUSTC_BOOTSTRAP=1`, `-Zsanitizer=address`). The sanitizer runtime ships with rustup's
//!   `rust-std` component for `x86_64-unknown-linux-gnu`: nothing else needs installing.
//!
//! Both build into their own subdirectory of the target directory, because their `RUSTFLAGS`
//! would otherwise invalidate the normal build.

use std::{path::PathBuf, process::Command};

use crate::util::{CommandExt, Step, cargo, run_steps};

/// The preemption bound of `cargo xtask loom` (every model finishes in seconds at 8).
const LOOM_FULL_PREEMPTIONS: &str = "8";
/// The preemption bound `cargo xtask ci` uses: all models, about a second of checking.
const LOOM_CI_PREEMPTIONS: &str = "3";

/// The target triple the sanitizer build is for (the only one whose runtime we rely on).
const ASAN_TARGET: &str = "x86_64-unknown-linux-gnu";

/// The crates whose tests run under the sanitizer: the algorithm and every backend.
const ASAN_PACKAGES: [&str; 3] = ["syncmap-core", "syncmap-epoch", "syncmap-arcswap"];

/// A subdirectory of the target directory, for builds with their own `RUSTFLAGS`.
fn target_dir(sub: &str) -> String {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    base.join(sub).to_string_lossy().into_owned()
}

/// The loom run with the given preemption bound.
fn loom_command(preemptions: &str) -> Command {
    cargo([
        "test",
        "--package",
        "syncmap-core",
        "--release",
        "--test",
        "loom",
        "--",
        "--test-threads=1",
    ])
    .env("RUSTFLAGS", "--cfg loom -C debug-assertions")
    .env("LOOM_MAX_PREEMPTIONS", preemptions)
    // The models run for seconds at opt-level 1; opt-level 3 would only lengthen the build.
    .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
    .env("CARGO_TARGET_DIR", &target_dir("loom"))
}

/// The sanitizer run: test targets only (doc tests are not instrumented), sized down by
/// `SYNCMAP_TEST_SCALE` (the sanitizer makes every allocation several times slower).
fn asan_command() -> Command {
    let mut command = cargo(["test", "--target", ASAN_TARGET, "--tests"]);
    for package in ASAN_PACKAGES {
        command.args(["--package", package]);
    }
    // The seize backend and its conformance run are behind a feature.
    command.args(["--features", "syncmap-epoch/seize"]);
    command
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", "-Zsanitizer=address")
        // Any report fails the run: ASan aborts at the first error; LeakSanitizer reports at
        // exit and makes the process exit non-zero.
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:halt_on_error=1:abort_on_error=1",
        )
        .env("SYNCMAP_TEST_SCALE", "25")
        // Sanitized tests are short (scaled down): build them quickly rather than optimised.
        .env("CARGO_PROFILE_TEST_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_TEST_DEBUG", "line-tables-only")
        .env("CARGO_TARGET_DIR", &target_dir("asan"))
}

/// `cargo xtask loom [--preemptions N]`.
pub(crate) fn loom(args: &[String]) -> Result<(), String> {
    let preemptions = match args {
        [] => LOOM_FULL_PREEMPTIONS.to_string(),
        [flag, n] if flag == "--preemptions" && n.parse::<u32>().is_ok() => n.clone(),
        _ => return Err("usage: cargo xtask loom [--preemptions N]".to_string()),
    };
    run_steps([Step::new("loom models", loom_command(&preemptions))])
}

/// `cargo xtask asan`.
pub(crate) fn asan(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`asan` takes no arguments (got `{arg}`)"));
    }
    run_steps([Step::new(
        "AddressSanitizer + LeakSanitizer",
        asan_command(),
    )])
}

/// The verification steps `cargo xtask ci` runs: every loom model with a small preemption
/// bound, and the sanitizer run.
pub(crate) fn ci_steps() -> Vec<Step> {
    vec![
        Step::new(
            "loom models (LOOM_MAX_PREEMPTIONS=3)",
            loom_command(LOOM_CI_PREEMPTIONS),
        ),
        Step::new("AddressSanitizer + LeakSanitizer", asan_command()),
    ]
}
