//! The `rust-version` claim, checked as far as the one installed toolchain allows.
//!
//! CI has only the current stable toolchain, so nothing builds with the minimum supported
//! version itself. What is checked instead:
//!
//! * our own code: clippy's `incompatible_msrv` (workspace lints) flags std APIs newer than
//!   `rust-version`;
//! * our dependencies: every package the published crates resolve to in `Cargo.lock` (normal,
//!   build and dev dependencies, all features) must declare a `rust-version` no newer than
//!   ours. This step checks that, from `cargo metadata`.
//!
//! Neither catches a language feature newer than `rust-version`, nor a dependency that declares
//! no `rust-version` but needs a newer compiler.

use std::collections::{BTreeMap, BTreeSet};

use crate::{package::PUBLISHED, util::cargo};

/// The check: `Err` lists each dependency that needs a newer compiler than ours.
pub(crate) fn check_dependencies() -> Result<(), String> {
    let output = cargo([
        "metadata",
        "--format-version",
        "1",
        "--all-features",
        "--locked",
    ])
    .output()
    .map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8(output.stdout).map_err(|e| e.to_string())?;
    let metadata = json::parse(&text)?;

    // Package id -> (name, version, rust-version).
    let mut packages = BTreeMap::new();
    for package in metadata.get("packages").array()? {
        let id = package.get("id").string()?;
        let rust_version = match package.get("rust_version") {
            json::Value::Null => None,
            value => Some(value.string()?.to_string()),
        };
        packages.insert(
            id.to_string(),
            (
                package.get("name").string()?.to_string(),
                package.get("version").string()?.to_string(),
                rust_version,
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
    let ours = root_ids
        .iter()
        .find_map(|id| packages[*id].2.clone())
        .ok_or("the published crates declare no rust-version")?;
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
