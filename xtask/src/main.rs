//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! * `cargo xtask ci`: everything CI checks, in the order CI runs it.
//! * `cargo xtask msrv`: the published crates build with their `rust-version` (installed with
//!   rustup if missing), in every feature combination, and no dependency needs a newer Rust.
//! * `cargo xtask package`: the published crates, packaged and verified, and every feature
//!   combination a user can pick (clippy and doc tests).
//! * `cargo xtask third-party`: the suite README's example crate, outside the workspace,
//!   tested against the packaged crates.
//! * `cargo xtask suite-peers [--watchdog SECS]`: the conformance suite over dashmap, papaya,
//!   scc and locked std maps, written to `docs/PEERS.md` (not in `ci`).
//! * `cargo xtask bench [--quick] [--threads 1,2,4,..]`: the head-to-head comparison, its
//!   tail-latency run and the report.
//! * `cargo xtask soak [--secs N]`: churn workloads on every backend; fails if the heap grows.
//! * `cargo xtask loom [--preemptions N]`: the loom models of the algorithm.
//! * `cargo xtask asan`: the map crates' tests under AddressSanitizer and LeakSanitizer.
//! * `cargo xtask miri`: the seize backend's tests under Miri (optional, nightly; not in `ci`).

mod bench;
mod msrv;
mod package;
mod peers;
mod third_party;
mod util;
mod verify;

use std::process::ExitCode;

use util::{CommandExt, Step, cargo};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci               fmt, clippy, tests (doc tests included), docs, packages, a third party's
                   map through the suite, feature combinations, the MSRV build, bench smoke,
                   loom and ASan, as CI runs them
  msrv             the published crates built with the Rust named by rust-version (installed
                   with rustup if missing; in target/msrv), in every feature combination ci
                   lints, the core's doc tests run with it, and no dependency that needs a
                   newer Rust
  package          the published crates packaged and verified, and each feature combination
  third-party      the example crate of the suite's README, written out outside the workspace
                   and tested against the packaged crates (which it packages first)
  suite-peers [--watchdog SECS]
                   the conformance suite over each Rust peer (dashmap, papaya, scc, RwLock and
                   Mutex over std's HashMap) and syncmap-epoch, each test in its own process
                   with the watchdog on (30 s by default), written to docs/PEERS.md; not in ci
  bench [--quick] [--threads 1,2,4,..]
                   the head-to-head benchmark comparison (Rust and Go) at each thread count
                   (1,2,4 by default; also Go's -cpu), the tail-latency run, and the report
                   in target/bench-report/. Counts above the machine's cores are allowed:
                   the extra threads are time-sliced, so those figures measure contention
                   under preemption, not parallel scaling
  soak [--secs N]  churn workloads on every backend while the heap is sampled (60 s by default)
  loom [--preemptions N]  the loom models of the algorithm (bound 8 by default)
  asan             the map crates' tests under AddressSanitizer and LeakSanitizer
  miri             the seize backend's tests under Miri with Tree Borrows (optional: needs
                   the nightly toolchain's miri component, and skips without it; not in ci)";

fn main() -> ExitCode {
    util::enter_project_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("soak") => bench::soak(&args[1..]),
        Some("msrv") => match args.get(1) {
            None => util::run_steps(msrv::steps()),
            Some(arg) => Err(format!("`msrv` takes no arguments (got `{arg}`)")),
        },
        Some("package") => match args.get(1) {
            None => util::run_steps(package::ci_steps()),
            Some(arg) => Err(format!("`package` takes no arguments (got `{arg}`)")),
        },
        Some("third-party") => third_party::run(&args[1..]),
        Some("suite-peers") => peers::run(&args[1..]),
        Some("loom") => verify::loom(&args[1..]),
        Some("asan") => verify::asan(&args[1..]),
        Some("miri") => verify::miri(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Every check CI runs. Each step stops the run on failure.
fn ci(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`ci` takes no arguments (got `{arg}`)"));
    }
    let steps = [
        Step::new("format", cargo(["fmt", "--all", "--check"])),
        Step::new(
            "clippy",
            cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        msrv::dependencies_step(),
        Step::new("tests", cargo(["test", "--workspace", "--all-features"])),
        // As docs.rs builds them (`package.metadata.docs.rs`): every feature, `--cfg docsrs`
        // for the feature labels, which needs the unstable `doc_cfg` (hence `RUSTC_BOOTSTRAP`).
        // Its own target directory: the flags would otherwise rebuild the normal build's crates.
        Step::new(
            "docs (as docs.rs builds them)",
            cargo(["doc", "--workspace", "--no-deps", "--all-features"])
                .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings")
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_DIR", &util::target_subdir("docsrs")),
        ),
    ];
    // Steps owned by other modules: packaging and feature combinations, a third party's map
    // through the suite (against those packages), the build with the declared rust-version,
    // the benchmark smoke run, loom and sanitizers.
    let steps = steps
        .into_iter()
        .chain(package::ci_steps())
        .chain(third_party::ci_steps())
        .chain(msrv::build_steps())
        .chain(bench::ci_steps())
        .chain(verify::ci_steps());
    util::run_steps(steps)
}
