//! Running commands: named steps, timing, and the project root.

use std::{path::PathBuf, process::Command, time::Instant};

/// One named command of a pipeline, or a check written in Rust.
pub(crate) struct Step {
    name: String,
    action: Action,
}

enum Action {
    Command(Command),
    Check(Box<dyn FnOnce() -> Result<(), String>>),
}

impl Step {
    pub(crate) fn new(name: impl Into<String>, command: Command) -> Self {
        Step {
            name: name.into(),
            action: Action::Command(command),
        }
    }

    /// A step that runs `check` in this process; an `Err` fails it with that message.
    pub(crate) fn check(
        name: impl Into<String>,
        check: impl FnOnce() -> Result<(), String> + 'static,
    ) -> Self {
        Step {
            name: name.into(),
            action: Action::Check(Box::new(check)),
        }
    }
}

/// A `cargo` command with the given arguments, using the cargo that runs us.
pub(crate) fn cargo<const N: usize>(args: [&str; N]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(args);
    command
}

/// A `cargo` command on another toolchain, through `rustup run` (the cargo that runs us is
/// stable). Environment that the outer cargo or rustup set for this process is removed, so that
/// it does not pin the inner cargo to the outer toolchain.
pub(crate) fn rustup_cargo<const N: usize>(toolchain: &str, args: [&str; N]) -> Command {
    let mut command = Command::new("rustup");
    command.args(["run", toolchain, "cargo"]).args(args);
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WRAPPER",
    ] {
        command.env_remove(var);
    }
    command
}

/// Builder-style environment setting for `Command` in a `Step` list.
pub(crate) trait CommandExt {
    fn env(self, key: &str, value: &str) -> Command;
}

impl CommandExt for Command {
    fn env(mut self, key: &str, value: &str) -> Command {
        Command::env(&mut self, key, value);
        self
    }
}

/// Runs the steps in order, printing each with its duration; stops at the first failure.
pub(crate) fn run_steps(steps: impl IntoIterator<Item = Step>) -> Result<(), String> {
    let started = Instant::now();
    for step in steps {
        eprintln!("==> {}", step.name);
        let step_started = Instant::now();
        let result = match step.action {
            Action::Command(mut command) => {
                let status = command
                    .status()
                    .map_err(|e| format!("step `{}`: cannot start {command:?}: {e}", step.name))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("{status}"))
                }
            }
            Action::Check(check) => check(),
        };
        eprintln!("<== {} ({:.1?})", step.name, step_started.elapsed());
        if let Err(why) = result {
            return Err(format!("step `{}` failed ({why})", step.name));
        }
    }
    eprintln!("all steps passed in {:.1?}", started.elapsed());
    Ok(())
}

/// Changes into the workspace root, so commands work from any directory.
///
/// The root comes from `CARGO_MANIFEST_DIR` as `cargo run` sets it for this run, and only
/// failing that from the path compiled in: with a target directory shared by two checkouts,
/// cargo may run an `xtask` binary built from the other checkout, which must still work on the
/// checkout it was invoked from.
pub(crate) fn enter_project_root() {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = manifest_dir
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf();
    std::env::set_current_dir(&root).expect("the workspace root is a directory");
}

/// A subdirectory of the target directory, for builds with their own flags (which would
/// otherwise invalidate the normal build).
pub(crate) fn target_subdir(sub: &str) -> String {
    let base =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    base.join(sub).to_string_lossy().into_owned()
}
