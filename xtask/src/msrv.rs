//! The `rust-version` claim: the published crates built with that Rust, and their dependencies'
//! declared `rust-version`s.
//!
//! * The build: the toolchain named by the published crates' `rust-version` (read from
//!   `cargo metadata`, so `Cargo.toml` is the only place that names it) is installed with
//!   rustup when missing (minimal profile), and every published crate is checked with it
//!   (`cargo check --locked` of the libraries, which builds no dev-dependencies) in each
//!   feature combination CI lints (see [`FEATURE_COMBINATIONS`]) and with all features. Then
//!   the core's doc tests run with it (which builds the core's dev-dependencies too). This catches what the next two cannot: a language
//!   feature newer than `rust-version`, and a dependency that needs a newer compiler without
//!   saying so. Its own target directory (`target/msrv`), so the stable build stays cached.
//! * Our own code, besides: clippy's `incompatible_msrv` (workspace lints) flags std APIs
//!   newer than `rust-version`, with a pointer to the call, in the stable clippy run.
//! * Our dependencies: every package the published crates resolve to in `Cargo.lock` (normal,
//!   build and dev dependencies, all features) must declare a `rust-version` no newer than
//!   ours, from `cargo metadata`. The build sees only what `cargo check` of the libraries
//!   compiles; this sees dev-dependencies and every platform too.
//!
//! A machine where rustup is missing or cannot install the toolchain fails the step, saying
//! so: the claim is not skipped silently.

use std::{
    collections::{BTreeMap, BTreeSet},
    process::Command,
};

use crate::{
    package::{FEATURE_COMBINATIONS, PUBLISHED},
    util::{Step, cargo, rustup_cargo, target_subdir},
};

/// `cargo xtask msrv`: the dependencies' declared versions, then the build steps.
pub(crate) fn steps() -> Vec<Step> {
    let mut steps = vec![dependencies_step()];
    steps.extend(build_steps());
    steps
}

/// The dependency check as a step (`cargo xtask ci` runs it early: it takes a second).
pub(crate) fn dependencies_step() -> Step {
    Step::check("MSRV: dependencies' rust-version", check_dependencies)
}

/// The toolchain named by `rust-version`, installed if missing, then each build with it.
pub(crate) fn build_steps() -> Vec<Step> {
    let version = match declared_rust_version() {
        Ok(version) => version,
        Err(why) => {
            return vec![Step::check("MSRV: the declared rust-version", move || {
                Err(why)
            })];
        }
    };
    let mut steps = vec![{
        let version = version.clone();
        Step::check(format!("MSRV: Rust {version} installed"), move || {
            install_toolchain(&version)
        })
    }];
    for (package, features) in build_combinations() {
        let label = match features {
            Features::Listed("") => "[no features]".to_string(),
            Features::Listed(features) => format!("[{features}]"),
            Features::All => "[all features]".to_string(),
        };
        let version = version.clone();
        steps.push(Step::check(
            format!("MSRV: {package} {label} builds with Rust {version}"),
            move || {
                let mut command =
                    rustup_cargo(&version, ["check", "--locked", "--package", package]);
                match features {
                    Features::Listed(features) => {
                        command.args(["--no-default-features", "--features", features]);
                    }
                    Features::All => {
                        command.arg("--all-features");
                    }
                }
                run_with(
                    command,
                    &version,
                    &format!("{package} {label} does not build"),
                )
            },
        ));
    }
    steps.push(Step::check(
        format!("MSRV: syncmap-core doc tests with Rust {version}"),
        move || {
            let mut command = rustup_cargo(
                &version,
                ["test", "--locked", "--package", "syncmap-core", "--doc"],
            );
            // The test profile optimises (for the stress tests); these doc tests only need to
            // compile and run, so an unoptimised build without debug info keeps this step short
            // on a fresh machine (proptest and its dependencies are built for it).
            command
                .env("CARGO_PROFILE_TEST_OPT_LEVEL", "0")
                .env("CARGO_PROFILE_TEST_DEBUG", "false");
            run_with(command, &version, "the syncmap-core doc tests fail")
        },
    ));
    steps
}

/// Which features a build turns on.
#[derive(Clone, Copy)]
enum Features {
    /// `--no-default-features --features <these>` (every crate's features are off by default).
    Listed(&'static str),
    /// `--all-features`.
    All,
}

/// What the build checks: the feature combinations the `features` steps lint, and each
/// published crate with all features (which the workspace-wide clippy run lints).
fn build_combinations() -> Vec<(&'static str, Features)> {
    let mut combinations: Vec<_> = FEATURE_COMBINATIONS
        .into_iter()
        .map(|(package, features)| (package, Features::Listed(features)))
        .collect();
    for package in PUBLISHED {
        combinations.push((package, Features::All));
    }
    combinations
}

/// Runs a cargo command of the given toolchain in `target/msrv`; a failure says what it means.
fn run_with(mut command: Command, version: &str, what: &str) -> Result<(), String> {
    command.env("CARGO_TARGET_DIR", target_subdir("msrv"));
    let status = command
        .status()
        .map_err(|e| format!("cannot run `rustup run {version} cargo`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} with Rust {version}, the declared rust-version ({status}): the errors above \
             show a language feature, std API or dependency newer than {version}; use an \
             older equivalent, or raise `rust-version` in the workspace Cargo.toml (and say so \
             in CHANGELOG.md)"
        ))
    }
}

/// Installs the toolchain `version` with rustup unless it is installed; says which it did.
fn install_toolchain(version: &str) -> Result<(), String> {
    let no_rustup = |e: std::io::Error| {
        format!(
            "cannot run `rustup` ({e}): this step builds the published crates with Rust \
             {version}, their rust-version, and needs rustup to install and run that \
             toolchain; install rustup and rerun"
        )
    };
    let output = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map_err(no_rustup)?;
    if !output.status.success() {
        return Err(format!(
            "`rustup toolchain list` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let prefix = format!("{version}-");
    let listing = String::from_utf8_lossy(&output.stdout);
    if let Some(name) = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .find(|name| name.starts_with(&prefix))
    {
        eprintln!("Rust {version} is installed ({name})");
        return Ok(());
    }
    eprintln!(
        "Rust {version} (rust-version) is not installed: installing it with `rustup toolchain \
         install {version} --profile minimal`"
    );
    let status = Command::new("rustup")
        .args(["toolchain", "install", version, "--profile", "minimal"])
        .arg("--no-self-update")
        .status()
        .map_err(no_rustup)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "rustup could not install Rust {version} ({status}; its messages are above), so the \
             published crates cannot be built with their rust-version on this machine; install \
             it by hand (`rustup toolchain install {version} --profile minimal`) and rerun"
        ))
    }
}

/// The `rust-version` the published crates declare (one for all of them), from `cargo metadata`
/// of the workspace alone.
fn declared_rust_version() -> Result<String, String> {
    let metadata = metadata(&["--no-deps"])?;
    let mut packages = Vec::new();
    for package in metadata.get("packages").array()? {
        packages.push((
            package.get("name").string()?.to_string(),
            rust_version(package)?,
        ));
    }
    published_rust_version(
        packages
            .iter()
            .map(|(name, version)| (name.as_str(), version)),
    )
}

/// The one `rust-version` of the published crates among `packages` (name, rust-version).
fn published_rust_version<'a>(
    packages: impl Iterator<Item = (&'a str, &'a Option<String>)>,
) -> Result<String, String> {
    let mut versions = BTreeMap::new();
    for (name, version) in packages.filter(|(name, _)| PUBLISHED.contains(name)) {
        let version = version
            .clone()
            .ok_or_else(|| format!("{name} declares no rust-version"))?;
        versions.entry(version).or_insert_with(Vec::new).push(name);
    }
    let mut versions = versions.into_iter();
    match (versions.next(), versions.next()) {
        (Some((version, _)), None) => Ok(version),
        (None, _) => Err("no published crate found in `cargo metadata`".to_string()),
        (Some((a, a_names)), Some((b, b_names))) => Err(format!(
            "the published crates declare different rust-versions: {a} ({}), {b} ({})",
            a_names.join(", "),
            b_names.join(", ")
        )),
    }
}

/// `cargo metadata --format-version 1 --locked <extra>`, parsed.
fn metadata(extra: &[&str]) -> Result<json::Value, String> {
    let output = cargo(["metadata", "--format-version", "1", "--locked"])
        .args(extra)
        .output()
        .map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8(output.stdout).map_err(|e| e.to_string())?;
    json::parse(&text)
}

/// A package's `rust_version` in `cargo metadata`.
fn rust_version(package: &json::Value) -> Result<Option<String>, String> {
    match package.get("rust_version") {
        json::Value::Null => Ok(None),
        value => Ok(Some(value.string()?.to_string())),
    }
}

/// The dependency check: `Err` lists each dependency that needs a newer compiler than ours.
pub(crate) fn check_dependencies() -> Result<(), String> {
    let metadata = metadata(&["--all-features"])?;

    // Package id -> (name, version, rust-version).
    let mut packages = BTreeMap::new();
    for package in metadata.get("packages").array()? {
        let id = package.get("id").string()?;
        packages.insert(
            id.to_string(),
            (
                package.get("name").string()?.to_string(),
                package.get("version").string()?.to_string(),
                rust_version(package)?,
            ),
        );
    }
    // Package id -> the ids it depends on (every kind, every platform).
    let mut edges = BTreeMap::new();
    for node in metadata.get("resolve").get("nodes").array()? {
        let deps = node
            .get("dependencies")
            .array()?
            .iter()
            .map(|dep| dep.string().map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        edges.insert(node.get("id").string()?.to_string(), deps);
    }

    let root_ids: Vec<&String> = packages
        .iter()
        .filter(|(_, (name, _, _))| PUBLISHED.contains(&name.as_str()))
        .map(|(id, _)| id)
        .collect();
    let ours = published_rust_version(
        packages
            .values()
            .map(|(name, _, version)| (name.as_str(), version)),
    )?;
    let mut seen: BTreeSet<&String> = BTreeSet::new();
    let mut stack = root_ids;
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(edges.get(id).into_iter().flatten());
        }
    }

    let mut too_new = Vec::new();
    for id in &seen {
        let (name, version, rust_version) = &packages[*id];
        if let Some(needs) = rust_version
            && parse_version(needs)? > parse_version(&ours)?
        {
            too_new.push(format!("{name} {version} needs Rust {needs}"));
        }
    }
    eprintln!(
        "{} packages reachable from the published crates; rust-version {ours}",
        seen.len()
    );
    if too_new.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "dependencies newer than rust-version {ours}: {}",
            too_new.join(", ")
        ))
    }
}

/// `1.85` or `1.85.0` as a comparable triple.
fn parse_version(text: &str) -> Result<(u32, u32, u32), String> {
    let mut parts = text.split('.').map(|part| part.parse::<u32>());
    let mut next = || {
        parts
            .next()
            .unwrap_or(Ok(0))
            .map_err(|e| format!("`{text}`: {e}"))
    };
    Ok((next()?, next()?, next()?))
}

/// Just enough JSON for `cargo metadata` (xtask keeps free of dependencies).
mod json {
    use std::collections::BTreeMap;

    #[derive(Debug)]
    pub(crate) enum Value {
        Null,
        Bool,
        Number,
        String(String),
        Array(Vec<Value>),
        Object(BTreeMap<String, Value>),
    }

    static NULL: Value = Value::Null;

    impl Value {
        /// The member `key` of an object; `Null` if absent or not an object.
        pub(crate) fn get(&self, key: &str) -> &Value {
            match self {
                Value::Object(members) => members.get(key).unwrap_or(&NULL),
                _ => &NULL,
            }
        }

        pub(crate) fn string(&self) -> Result<&str, String> {
            match self {
                Value::String(s) => Ok(s),
                other => Err(format!("expected a string, got {other:?}")),
            }
        }

        pub(crate) fn array(&self) -> Result<&[Value], String> {
            match self {
                Value::Array(items) => Ok(items),
                other => Err(format!("expected an array, got {other:?}")),
            }
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Value, String> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value()?;
        parser.skip_space();
        if parser.at != parser.bytes.len() {
            return Err(format!("trailing data at byte {}", parser.at));
        }
        Ok(value)
    }

    struct Parser<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl Parser<'_> {
        fn skip_space(&mut self) {
            while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
                self.at += 1;
            }
        }

        fn peek(&mut self) -> Result<u8, String> {
            self.skip_space();
            self.bytes
                .get(self.at)
                .copied()
                .ok_or_else(|| "unexpected end of JSON".to_string())
        }

        fn expect(&mut self, byte: u8) -> Result<(), String> {
            if self.peek()? == byte {
                self.at += 1;
                Ok(())
            } else {
                Err(format!("expected `{}` at byte {}", byte as char, self.at))
            }
        }

        fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
            if self.bytes[self.at..].starts_with(word.as_bytes()) {
                self.at += word.len();
                Ok(value)
            } else {
                Err(format!("bad literal at byte {}", self.at))
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            match self.peek()? {
                b'n' => self.literal("null", Value::Null),
                b't' => self.literal("true", Value::Bool),
                b'f' => self.literal("false", Value::Bool),
                b'"' => self.string().map(Value::String),
                b'[' => {
                    self.at += 1;
                    let mut items = Vec::new();
                    if self.peek()? == b']' {
                        self.at += 1;
                        return Ok(Value::Array(items));
                    }
                    loop {
                        items.push(self.value()?);
                        match self.peek()? {
                            b',' => self.at += 1,
                            _ => {
                                self.expect(b']')?;
                                return Ok(Value::Array(items));
                            }
                        }
                    }
                }
                b'{' => {
                    self.at += 1;
                    let mut members = BTreeMap::new();
                    if self.peek()? == b'}' {
                        self.at += 1;
                        return Ok(Value::Object(members));
                    }
                    loop {
                        self.peek()?;
                        let key = self.string()?;
                        self.expect(b':')?;
                        members.insert(key, self.value()?);
                        match self.peek()? {
                            b',' => self.at += 1,
                            _ => {
                                self.expect(b'}')?;
                                return Ok(Value::Object(members));
                            }
                        }
                    }
                }
                _ => {
                    let start = self.at;
                    while self
                        .bytes
                        .get(self.at)
                        .is_some_and(|b| b"+-.eE0123456789".contains(b))
                    {
                        self.at += 1;
                    }
                    if self.at == start {
                        Err(format!("unexpected byte at {start}"))
                    } else {
                        Ok(Value::Number)
                    }
                }
            }
        }

        fn string(&mut self) -> Result<String, String> {
            self.expect(b'"')?;
            let mut out = Vec::new();
            loop {
                let byte = *self.bytes.get(self.at).ok_or("unterminated string")?;
                self.at += 1;
                match byte {
                    b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                    b'\\' => {
                        let escaped = *self.bytes.get(self.at).ok_or("unterminated escape")?;
                        self.at += 1;
                        match escaped {
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            b'b' => out.push(8),
                            b'f' => out.push(12),
                            b'u' => {
                                // Names, versions and ids are ASCII: keep the escape as text.
                                let hex = self.bytes.get(self.at..self.at + 4).ok_or("bad \\u")?;
                                out.extend_from_slice(b"\\u");
                                out.extend_from_slice(hex);
                                self.at += 4;
                            }
                            other => out.push(other),
                        }
                    }
                    other => out.push(other),
                }
            }
        }
    }
}
