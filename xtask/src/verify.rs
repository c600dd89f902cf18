//! Verification beyond `cargo test`: loom model checking and sanitizers.

use crate::util::Step;

/// The verification steps `cargo xtask ci` runs (none until loom and sanitizer runs exist).
pub(crate) fn ci_steps() -> Vec<Step> {
    Vec::new()
}
