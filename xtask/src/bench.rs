//! `cargo xtask bench [--quick]`.
//!
//! Until the benchmark suite lands, this runs the `tour` example of `syncmap-epoch`: several
//! threads exercising one map, and a printout of what they did.

use crate::util::{Step, cargo, run_steps};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    for arg in args {
        if arg != "--quick" {
            return Err(format!("`bench` takes only `--quick` (got `{arg}`)"));
        }
    }
    run_steps([Step::new(
        "tour (the benchmark suite is not written yet)",
        cargo([
            "run",
            "--release",
            "--quiet",
            "-p",
            "syncmap-epoch",
            "--example",
            "tour",
        ]),
    )])
}

/// The benchmark steps `cargo xtask ci` runs (none until the benchmark suite exists).
pub(crate) fn ci_steps() -> Vec<Step> {
    Vec::new()
}
