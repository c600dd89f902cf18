//! Verification beyond `cargo test`: loom model checking, AddressSanitizer and Miri.
//!
//! * `cargo xtask loom [--preemptions N]`: the loom models of `syncmap-core/tests/loom.rs` (the
//!   algorithm) and `syncmap-arcswap/tests/loom.rs` (the arc-swap backend's generations)
//!   (`RUSTFLAGS="--cfg loom"`), with a preemption bound of 8 unless told otherwise.
//! * `cargo xtask asan`: every test target of the map crates (the conformance suite over each
//!   backend, the unit tests) under AddressSanitizer and LeakSanitizer, on the stable toolchain
//!   (`RUSTC_BOOTSTRAP=1`, `-Zsanitizer=address`), with the entry arena off (`--cfg
//!   syncmap_no_arena`). The sanitizer runtime ships with rustup's
//!   `rust-std` component for `x86_64-unknown-linux-gnu`: nothing else needs installing.
//!
//! * `cargo xtask miri`: the seize backend's tests under Miri with Tree Borrows, on the nightly
//!   toolchain; optional, and not part of `cargo xtask ci`. Without a nightly toolchain that
//!   has the `miri` component it says so and succeeds.
//!
//! Each builds into its own subdirectory of the target directory, because its `RUSTFLAGS` (or
//! toolchain) would otherwise invalidate the normal build.

use std::{path::PathBuf, process::Command};

use crate::util::{CommandExt, Step, cargo, run_steps, rustup_cargo};

/// The preemption bound of `cargo xtask loom` (the core's models finish in seconds at 8; the
/// arc-swap model of two racing writers takes about 80 s on 2 cores).
const LOOM_FULL_PREEMPTIONS: &str = "8";
/// The preemption bound `cargo xtask ci` uses: all models, under two seconds of checking.
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

/// The crates with loom models (`tests/loom.rs`): the algorithm, and the arc-swap backend's
/// own protocol.
const LOOM_PACKAGES: [&str; 2] = ["syncmap-core", "syncmap-arcswap"];

/// The loom run with the given preemption bound.
fn loom_command(preemptions: &str) -> Command {
    let mut command = cargo(["test"]);
    for package in LOOM_PACKAGES {
        command.args(["--package", package]);
    }
    command.args(["--release", "--test", "loom", "--", "--test-threads=1"]);
    command
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
        // Maps allocate entries one by one (`syncmap_no_arena`), so that a use of a freed entry
        // is a use of freed memory to ASan, not of a live arena chunk; the arena's own unit
        // tests still run its code under the sanitizer.
        .env("RUSTFLAGS", "-Zsanitizer=address --cfg syncmap_no_arena")
        // Any report fails the run: ASan aborts at the first error; LeakSanitizer reports at
        // exit and makes the process exit non-zero.
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:halt_on_error=1:abort_on_error=1",
        )
        .env("SYNCMAP_TEST_SCALE", "25")
        // The suite's watchdog (60 s by default) allows for the sanitizer's slowdown: the
        // memory check's 1,000,000 entries are not scaled down.
        .env("SYNCMAP_SUITE_WATCHDOG_SECS", "600")
        // Sanitized tests are short (scaled down): build them quickly rather than optimised.
        .env("CARGO_PROFILE_TEST_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_TEST_DEBUG", "line-tables-only")
        .env("CARGO_TARGET_DIR", &target_dir("asan"))
}

/// The toolchain `cargo xtask miri` runs on (Miri is a nightly component).
const MIRI_TOOLCHAIN: &str = "nightly";

/// Miri's flags: Tree Borrows (the aliasing model crossbeam's CI also checks with). Leak and
/// data-race detection are on by default.
const MIRI_FLAGS: &str = "-Zmiri-tree-borrows";

/// A `cargo` command on the Miri toolchain, through rustup (the cargo that runs us is stable).
fn miri_cargo<const N: usize>(args: [&str; N]) -> Command {
    rustup_cargo(MIRI_TOOLCHAIN, args)
}

/// Whether `cargo miri` runs on [`MIRI_TOOLCHAIN`]: `Err` says why not.
fn miri_available() -> Result<(), String> {
    let output = miri_cargo(["miri", "--version"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// The Miri runs, on the seize backend as it ships (its protocol has no `cfg(miri)` variant):
/// its unit test of per-map collectors, and `syncmap-epoch/tests/seize_readers.rs`, readers
/// racing writers whose retirements fill and reclaim several of seize's batches, sized for Miri
/// (seconds). The other unit test (10,000 overwrites) and the conformance suite take far longer
/// under Miri (tens of minutes even at `SYNCMAP_TEST_SCALE=1`), so they are left to native runs,
/// ASan and loom.
fn miri_commands() -> Vec<Step> {
    let unit = miri_cargo([
        "miri",
        "test",
        "--package",
        "syncmap-epoch",
        "--features",
        "seize",
        "--lib",
        "--",
        "--exact",
        "seize::tests::each_map_has_its_own_collector",
    ]);
    let readers = miri_cargo([
        "miri",
        "test",
        "--package",
        "syncmap-epoch",
        "--features",
        "seize",
        "--test",
        "seize_readers",
    ]);
    // Extra flags from the environment (`MIRIFLAGS=-Zmiri-many-seeds=0..16`, say) come after ours.
    let flags = match std::env::var("MIRIFLAGS") {
        Ok(extra) if !extra.trim().is_empty() => format!("{MIRI_FLAGS} {extra}"),
        _ => MIRI_FLAGS.to_string(),
    };
    [
        ("Miri: seize per-map collectors", unit),
        ("Miri: seize readers against reclamation", readers),
    ]
    .into_iter()
    .map(|(name, command)| {
        Step::new(
            name,
            command
                .env("MIRIFLAGS", &flags)
                // Miri ignores optimizations; asking for none keeps it from warning so.
                .env("CARGO_PROFILE_TEST_OPT_LEVEL", "0"),
        )
    })
    .collect()
}

/// `cargo xtask miri`: optional; succeeds with a message when Miri is not installed.
pub(crate) fn miri(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`miri` takes no arguments (got `{arg}`)"));
    }
    if let Err(why) = miri_available() {
        eprintln!(
            "xtask: skipping Miri: `cargo miri` is not available on the {MIRI_TOOLCHAIN} \
             toolchain ({why}); install it with `rustup component add miri --toolchain \
             {MIRI_TOOLCHAIN}`"
        );
        return Ok(());
    }
    run_steps(miri_commands())
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
