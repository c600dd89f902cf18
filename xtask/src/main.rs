//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! * `cargo xtask ci`: everything CI checks, in the order CI runs it.
//! * `cargo xtask bench [--quick]`: the head-to-head comparison.
//! * `cargo xtask soak [--secs N]`: churn workloads on every backend; fails if the heap grows.
//! * `cargo xtask loom [--preemptions N]`: the loom models of the algorithm.
//! * `cargo xtask asan`: the map crates' tests under AddressSanitizer and LeakSanitizer.
//! * `cargo xtask miri`: the seize backend's tests under Miri (optional, nightly; not in `ci`).

mod bench;
mod util;
mod verify;

use std::process::ExitCode;

use util::{CommandExt, Step, cargo};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci               fmt, clippy, tests (doc tests included) and docs, as CI runs them
  bench [--quick]  the head-to-head benchmark comparison
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
        Step::new("tests", cargo(["test", "--workspace", "--all-features"])),
        Step::new(
            "docs",
            cargo(["doc", "--workspace", "--no-deps", "--all-features"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        ),
    ];
    // Steps owned by other modules: the benchmark smoke run, loom and sanitizers.
    let steps = steps
        .into_iter()
        .chain(bench::ci_steps())
        .chain(verify::ci_steps());
    util::run_steps(steps)
}
