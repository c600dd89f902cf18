//! `bench-report <report dir> <criterion dir>`: turns one run of `cargo xtask bench` into
//! `report.md` and SVG plots in the report dir.
//!
//! Inputs, all written during the run (`cargo xtask bench` does this):
//! * `<report dir>/run.tsv`: `key\tvalue` lines: `started` (Unix seconds), `mode`, and machine facts;
//! * `<criterion dir>/<workload>/<map>/<threads>/new/estimates.json`: criterion's estimates,
//!   used only if written after `started` (older ones belong to earlier runs);
//! * `<report dir>/go-*.txt`: the output of Go's own `go test -bench`, first line `# <go version>`;
//! * `<report dir>/memory.tsv` and `<report dir>/go-*-memory.txt`: bytes per entry;
//! * `<report dir>/tail.tsv`: the tail-latency run (`tail` binary), if it ran.
//!
//! Every figure is criterion's median of ns/op (Go's: its single ns/op figure). Each table row
//! gives the ratio of each cell to the fastest cell of the row. When more than one thread count
//! ran, a few workloads also get a scaling table and plot (ns/op against threads, one line per
//! map). The section "Targets of issue 16" judges the syncmap backends against the issue's five
//! targets (Go's figures, dashmap on the weak spots, arc-swap's `load`, memory, tail latency)
//! from this run's figures alone: a cell that did not run is `-` and never counts as met.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use plotters::{coord::ranged1d::SegmentValue, prelude::*};
use syncmap_benches::{
    harness::human_ns,
    maps::{BenchMap, ReadMap, Visitor, for_each_map},
    workloads::Workload,
};

/// ns/op by (workload, column, threads).
type Results = BTreeMap<(String, String, usize), f64>;

/// The workloads whose thread scaling the report plots (besides `ReadMostly`, which runs at
/// 1, 2, 4 and 8 threads whatever the list): a read path, new keys, one hot key rewritten.
const SCALING: [Workload; 4] = [
    Workload::LoadMostlyHits,
    Workload::LoadOrStoreUnique,
    Workload::SwapCollision,
    Workload::LoadOrStoreCollision,
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [report_dir, criterion_dir] = [0, 1].map(|i| {
        PathBuf::from(args.get(i).unwrap_or_else(|| {
            eprintln!("usage: bench-report <report dir> <criterion dir>");
            std::process::exit(2)
        }))
    });
    let run = read_run(&report_dir);
    let started = run
        .get("started")
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(UNIX_EPOCH, |s| UNIX_EPOCH + Duration::from_secs(s));

    let mut results = Results::new();
    let mut columns: Vec<String> = Vec::new();
    let mut go_notes = Vec::new();
    for (column, note) in read_go(&report_dir, &mut results) {
        columns.push(column);
        go_notes.push(note);
    }
    let rust_columns = rust_columns();
    read_criterion(&criterion_dir, started, &rust_columns, &mut results);
    columns.extend(rust_columns);
    // Keep the columns that have at least one figure.
    columns.retain(|c| results.keys().any(|(_, col, _)| col == c));

    let threads: Vec<usize> = {
        let mut t: Vec<usize> = results
            .keys()
            .filter(|(w, _, _)| w != "ReadMostly")
            .map(|k| k.2)
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    };

    let mut md = String::new();
    writeln!(md, "# syncmap benchmark report\n").unwrap();
    for (key, value) in &run {
        if key != "started" {
            writeln!(md, "- {key}: {value}").unwrap();
        }
    }
    for note in &go_notes {
        writeln!(md, "- {note}").unwrap();
    }
    writeln!(
        md,
        "\nns/op (lower is better): criterion's median for the Rust maps, Go's own figure for Go. \
         Each cell also gives its ratio to the fastest cell of its row (**bold**). Every Rust map \
         hashes with foldhash (`foldhash::fast::RandomState`). `-` = not run (a pinned view only \
         differs on the read path; hashbrown is unsynchronized, so it only runs the read-only \
         workloads; Go skips its copy-on-write map where it is quadratic; Go 1.19 has only 12 of \
         the 24 benchmarks).\n"
    )
    .unwrap();
    for &t in &threads {
        writeln!(md, "## {t} thread{}\n", if t == 1 { "" } else { "s" }).unwrap();
        md.push_str(&table(&results, &columns, t));
        md.push('\n');
    }
    writeln!(
        md,
        "† Go 1.19's `LoadAndDeleteCollision` only deletes (`m.LoadAndDelete(0)`): after the \
         first call every call misses. Go 1.20 added `Store(0, 0)` after a successful delete; the \
         port follows the current file, so that cell is not comparable.\n"
    )
    .unwrap();

    let memory = fs::read_to_string(report_dir.join("memory.tsv")).unwrap_or_default();
    let tail = fs::read_to_string(report_dir.join("tail.tsv")).ok();
    md.push_str(&targets(&results, &threads, &memory, tail.as_deref()));

    // Thread scaling: ReadMostly, and the key workloads when several thread counts ran.
    let cores: usize = run
        .get("machine")
        .and_then(|m| m.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let scaling: Vec<Workload> = std::iter::once(Workload::ReadMostly)
        .chain(SCALING.into_iter().filter(|_| threads.len() > 1))
        .collect();
    let mut wrote_scaling_note = false;
    for w in scaling {
        let name = w.name();
        let table = scaling_table(&results, &columns, name);
        if table.is_empty() {
            continue;
        }
        if !wrote_scaling_note {
            wrote_scaling_note = true;
            writeln!(md, "## Thread scaling\n\n{}", scaling_note(&results, cores)).unwrap();
        }
        let file = format!("bench-{name}-scaling.svg");
        writeln!(md, "### {name}: thread scaling\n\n{table}").unwrap();
        writeln!(md, "![{name} scaling]({file})\n").unwrap();
        plot_scaling(&report_dir.join(&file), &results, &columns, name, cores);
    }

    // Tail latency.
    let tail = tail_table(&report_dir);
    if !tail.is_empty() {
        writeln!(
            md,
            "## Tail latency: threads grow a map with `load_or_store`\n\n{tail}"
        )
        .unwrap();
    }

    // Memory.
    let memory = memory_table(&report_dir);
    if !memory.is_empty() {
        writeln!(md, "## Memory: heap bytes per entry\n\n{memory}").unwrap();
    }

    writeln!(md, "## Plots\n").unwrap();
    for w in Workload::ALL {
        let name = w.name();
        let file = format!("bench-{name}.svg");
        if plot_workload(&report_dir.join(&file), name, &results, &columns, &threads) {
            writeln!(md, "![{name}]({file})").unwrap();
        }
    }

    fs::write(report_dir.join("report.md"), md).expect("write report.md");
    println!("{}", report_dir.join("report.md").display());
}

/// The run's facts, in file order.
fn read_run(dir: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(dir.join("run.tsv")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Lookup in the run facts.
trait Get {
    fn get(&self, key: &str) -> Option<&String>;
}

impl Get for Vec<(String, String)> {
    fn get(&self, key: &str) -> Option<&String> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The Rust column names, in `for_each_map` order.
fn rust_columns() -> Vec<String> {
    struct Names(Vec<String>);
    impl Visitor for Names {
        fn map<M: BenchMap>(&mut self, name: &'static str) {
            self.0.push(name.to_string());
        }
        fn read_only<M: ReadMap>(&mut self, name: &'static str) {
            self.0.push(name.to_string());
        }
    }
    let mut names = Names(Vec::new());
    for_each_map(&mut names);
    names.0
}

/// Reads criterion's medians written since `started`.
fn read_criterion(dir: &Path, started: SystemTime, columns: &[String], out: &mut Results) {
    for w in Workload::ALL {
        for column in columns {
            let Ok(entries) = fs::read_dir(dir.join(w.name()).join(column)) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(threads) = entry.file_name().to_string_lossy().parse::<usize>() else {
                    continue;
                };
                let path = entry.path().join("new").join("estimates.json");
                let fresh = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= started);
                if !fresh {
                    continue;
                }
                if let Some(median) = fs::read_to_string(&path).ok().and_then(|s| median(&s)) {
                    out.insert((w.name().to_string(), column.clone(), threads), median);
                }
            }
        }
    }
}

/// `median.point_estimate` of criterion's `estimates.json`.
fn median(json: &str) -> Option<f64> {
    let rest = &json[json.find("\"median\":{")?..];
    let rest = &rest[rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

/// Reads every `go-*.txt` (not `-memory`); returns (column, note) per Go toolchain.
fn read_go(dir: &Path, out: &mut Results) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            name.starts_with("go-") && name.ends_with(".txt") && !name.contains("memory")
        })
        .collect();
    files.sort();
    let mut columns = Vec::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let version = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .unwrap_or("go ?")
            .to_string();
        // `go version go1.19.8 linux/amd64` -> `Go 1.19.8`
        let short = version
            .split_whitespace()
            .find_map(|w| w.strip_prefix("go1"))
            .map_or_else(|| "Go".to_string(), |v| format!("Go 1{v}"));
        let column = format!("{short} sync.Map");
        let mut any = false;
        for line in text.lines() {
            if let Some((workload, threads, ns)) = parse_go_line(line) {
                out.insert((workload, column.clone(), threads), ns);
                any = true;
            }
        }
        if any {
            columns.push((
                column,
                format!("Go column: `{version}`, its own `go test -bench` of package `sync`"),
            ));
        }
    }
    columns
}

/// `BenchmarkMapLoadMostlyHits/*sync.Map-2   1000000   22.2 ns/op` -> (workload, 2, 22.2).
fn parse_go_line(line: &str) -> Option<(String, usize, f64)> {
    let mut fields = line.split_whitespace();
    let name = fields.next()?.strip_prefix("Benchmark")?;
    let (bench, rest) = name.split_once("/*sync.Map")?;
    let threads = rest.strip_prefix('-').map_or(Some(1), |t| t.parse().ok())?;
    let workload = Workload::from_name(bench)
        .or_else(|| bench.strip_prefix("Map").and_then(Workload::from_name))?;
    let _iterations = fields.next()?;
    let ns: f64 = fields.next()?.parse().ok()?;
    (fields.next()? == "ns/op").then(|| (workload.name().to_string(), threads, ns))
}

/// Whether a column's figure of a workload measures what the others do: not Go 1.19's
/// `LoadAndDeleteCollision` (†, see the report).
fn comparable(workload: &str, column: &str) -> bool {
    !(workload == Workload::LoadAndDeleteCollision.name() && column.starts_with("Go 1.19"))
}

/// One cell's ns/op, if it ran.
fn cell(results: &Results, workload: &str, column: &str, threads: usize) -> Option<f64> {
    results
        .get(&(workload.to_string(), column.to_string(), threads))
        .copied()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0}")
    } else if ns >= 10.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.2}")
    }
}

/// A markdown table's header row and separator: the `left` columns left-aligned, then one
/// right-aligned (numeric) column per item of `right`.
fn table_head<T: std::fmt::Display>(left: &[&str], right: impl IntoIterator<Item = T>) -> String {
    let (mut head, mut separator) = (String::from("|"), String::from("|"));
    for name in left {
        write!(head, " {name} |").unwrap();
        separator.push_str("---|");
    }
    for name in right {
        write!(head, " {name} |").unwrap();
        separator.push_str("---:|");
    }
    format!("{head}\n{separator}\n")
}

/// One markdown table: rows = workloads, columns = maps, at `threads` threads.
fn table(results: &Results, columns: &[String], threads: usize) -> String {
    let mut md = table_head(&["benchmark"], columns);
    for w in Workload::ALL {
        let row: Vec<Option<f64>> = columns
            .iter()
            .map(|c| {
                results
                    .get(&(w.name().to_string(), c.clone(), threads))
                    .copied()
            })
            .collect();
        let Some(best) = row.iter().flatten().copied().reduce(f64::min) else {
            continue;
        };
        write!(md, "| {} |", w.name()).unwrap();
        for (c, cell) in columns.iter().zip(&row) {
            match cell {
                Some(ns) => {
                    let dagger = if comparable(w.name(), c) { "" } else { "†" };
                    let text = format!("{}{dagger} ({:.1}×)", fmt_ns(*ns), ns / best);
                    if *ns == best {
                        write!(md, " **{text}** |").unwrap();
                    } else {
                        write!(md, " {text} |").unwrap();
                    }
                }
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
    md
}

/// One workload's figures at every thread count: rows = maps, columns = threads.
fn scaling_table(results: &Results, columns: &[String], workload: &str) -> String {
    let mut threads: Vec<usize> = results
        .keys()
        .filter(|(w, _, _)| w == workload)
        .map(|k| k.2)
        .collect();
    threads.sort_unstable();
    threads.dedup();
    if threads.is_empty() {
        return String::new();
    }
    let mut md = table_head(&["map"], threads.iter().map(|t| format!("{t} thr")));
    for c in columns {
        let cells: Vec<Option<f64>> = threads
            .iter()
            .map(|&t| cell(results, workload, c, t))
            .collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        write!(md, "| {c} |").unwrap();
        for cell in cells {
            match cell {
                Some(ns) => write!(md, " {} |", fmt_ns(ns)).unwrap(),
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
    md
}

/// `memory.tsv` (the memory bench): its entry count (`?` if absent) and one (map, state, bytes per
/// entry) row per measurement, in file order.
fn parse_memory(text: &str) -> (String, Vec<(String, String, String)>) {
    let mut entries = String::from("?");
    let mut rows = Vec::new();
    for line in text.lines() {
        match line.split('\t').collect::<Vec<_>>().as_slice() {
            ["# entries", n] => entries = (*n).to_string(),
            ["memory", map, state, bytes] => rows.push((
                (*map).to_string(),
                (*state).to_string(),
                (*bytes).to_string(),
            )),
            _ => {}
        }
    }
    (entries, rows)
}

/// The memory table from `memory.tsv` and `go-*-memory.txt`.
fn memory_table(dir: &Path) -> String {
    let (entries, mut rows) =
        parse_memory(&fs::read_to_string(dir.join("memory.tsv")).unwrap_or_default());
    let mut go_files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-memory.txt"))
        .collect();
    go_files.sort();
    for file in go_files {
        let text = fs::read_to_string(&file).unwrap_or_default();
        let mut version = String::from("Go");
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("# ") {
                version = v
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("go1"))
                    .map_or_else(|| "Go".to_string(), |v| format!("Go 1{v} sync.Map"));
            } else if let Some((state, bytes)) = line.split_once('\t') {
                rows.push((version.clone(), state.to_string(), bytes.to_string()));
            }
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "{entries} `u64 -> u64` entries inserted with `store`, bytes allocated and not yet freed \
         (memory awaiting deferred reclamation counts) / entries. Go: `runtime.MemStats.HeapAlloc` \
         after `runtime.GC()`, `uint64` keys and values boxed in `any` as `sync.Map` stores them.\n\n\
         | map | state | bytes / entry |\n|---|---|---:|\n"
    );
    for (map, state, bytes) in rows {
        writeln!(md, "| {map} | {state} | {bytes} |").unwrap();
    }
    md
}

/// What the scaling figures can and cannot say on this machine.
fn scaling_note(results: &Results, cores: usize) -> String {
    let tmax = results.keys().map(|k| k.2).max().unwrap_or(1);
    let mut note = String::from(
        "ns/op is Go's (wall time of the parallel phase / operations of all threads), so a map \
         that scales perfectly halves its figure when the threads double, as long as each \
         thread has a core of its own; a flat line means the threads add no throughput, a \
         rising one that they get in each other's way.",
    );
    if cores > 0 && tmax > cores {
        write!(
            note,
            " **This machine has {cores} cores and the run went up to {tmax} threads: beyond \
             {cores} threads, threads are time-sliced on the same cores**, so those figures \
             measure contention under preemption (a thread descheduled while it holds a lock, \
             or in the middle of an update, stalls the others), not parallel scaling; expect \
             them flat at best. Parallel scaling past {cores} threads needs a machine with that \
             many cores."
        )
        .unwrap();
    }
    note.push('\n');
    note
}

/// One `tail\t<map>\t<key>=<value>...` line of `tail.tsv`: the map and its fields.
type TailRow = (String, BTreeMap<String, String>);

/// `tail.tsv` (the `tail` binary): its facts (`# <key>\t<value>` lines) and rows, in file order.
fn parse_tail(text: &str) -> (Vec<(String, String)>, Vec<TailRow>) {
    let mut facts = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(fact) = line.strip_prefix("# ") {
            let (key, value) = fact.split_once('\t').unwrap_or((fact, ""));
            facts.push((key.to_string(), value.to_string()));
            continue;
        }
        let mut fields = line.split('\t');
        if fields.next() != Some("tail") {
            continue;
        }
        let name = fields.next().unwrap_or("?").to_string();
        let kv = fields
            .filter_map(|f| f.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        rows.push((name, kv));
    }
    (facts, rows)
}

/// A tail row's verdict on issue 16's target (no call over 10 ms): a call over 10 ms of wall time
/// but not of CPU was off CPU (preempted, or waiting for the other thread).
fn tail_verdict((name, kv): &TailRow) -> String {
    let raw = |key: &str| kv.get(key).map_or("?", String::as_str);
    match (raw("over10ms"), raw("over10ms_cpu")) {
        _ if name == "timer only" => "- (the floor)".to_string(),
        ("0", _) => "met".to_string(),
        (_, "?") | ("?", _) => "?".to_string(),
        (n, "0") => {
            format!("met on CPU; the {n} calls over 10 ms were off CPU (preempted, or waiting)")
        }
        (_, n) => format!("**missed** ({n} calls burnt > 10 ms of CPU)"),
    }
}

/// The tail-latency table from `tail.tsv` (`tail` binary), or nothing if it did not run.
fn tail_table(dir: &Path) -> String {
    let Ok(text) = fs::read_to_string(dir.join("tail.tsv")) else {
        return String::new();
    };
    let (facts, tail) = parse_tail(&text);
    let facts: Vec<String> = facts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let mut rows = String::new();
    for row in &tail {
        let (name, kv) = row;
        let ns = |key: &str| {
            kv.get(key)
                .and_then(|v| v.parse::<u64>().ok())
                .map_or_else(|| "?".to_string(), human_ns)
        };
        let raw = |key: &str| kv.get(key).map_or("?", String::as_str);
        writeln!(
            rows,
            "| {name} | {} | {} | {} | {} | **{}** | {} | {} | {} | {} | {} | {} | {} |",
            ns("p50"),
            ns("p99"),
            ns("p999"),
            ns("p9999"),
            ns("max"),
            raw("over1ms"),
            raw("over10ms"),
            raw("over10ms_cpu"),
            ns("max_cpu"),
            ns("wall_ns"),
            kv.get("dirty_rebuilds").map_or("-", String::as_str),
            tail_verdict(row),
        )
        .unwrap();
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "Each thread inserts its own unique keys with `load_or_store` until the map holds all \
         the threads' keys (issue 16's case: 2 threads x 1M keys); every call is timed on its own (two clock reads, a log-bucketed \
         histogram per thread: percentiles are bucket upper bounds, within 12.5%; the maximum \
         and the counts over 1 ms and 10 ms are exact). Target (issue 16): no call over 10 ms. \
         `timer only` times an empty call the same way: this machine's floor, preemption \
         included (a thread descheduled between the two clock reads shows a long \"call\" \
         whatever the map does). So each call over 1 ms also gets its thread's CPU time \
         (read every 256 calls and after each slow call, so within a fraction of a \
         millisecond): a call that burnt more than 10 ms of CPU misses the target whatever the \
         scheduler did; a call over 10 ms mostly off CPU was preempted, or waited for the other \
         thread (a lock held while the table grows), which this cannot tell apart. {}.\n\n\
         | map | p50 | p99 | p99.9 | p99.99 | max | calls > 1 ms | calls > 10 ms | of which \
         > 10 ms on CPU | most CPU in one call | wall | dirty rebuilds | target: no call > 10 \
         ms |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n{rows}",
        facts.join("; ")
    )
}

/// The syncmap backends (their per-call `load` columns) that issue 16's targets are about.
const BACKENDS: [&str; 3] = ["epoch", "seize", "arcswap"];

/// The design's weak spots, which issue 16 wants within [`WITHIN`] of dashmap.
const WEAK_SPOTS: [Workload; 4] = [
    Workload::LoadOrStoreUnique,
    Workload::LoadOrStoreBalanced,
    Workload::AdversarialAlloc,
    Workload::AdversarialDelete,
];

/// Issue 16's ratio bound (weak spots against dashmap, arc-swap's `load` against epoch's).
const WITHIN: f64 = 1.5;

/// Issue 16's memory bound: bytes per entry at steady state, 1M `u64 -> u64`.
const MEMORY_BOUND: f64 = 48.0;

/// A target's one-line verdict: `met`, or the cells that missed it (or nothing to judge).
fn verdict(cells: usize, missed: &[String]) -> String {
    match (cells, missed) {
        (0, _) => "**not measured** (no cell ran)".to_string(),
        (_, []) => "**met**".to_string(),
        _ => format!("**missed**: {}", missed.join(", ")),
    }
}

/// `## Targets of issue 16`, from this run's figures, `memory.tsv` and `tail.tsv`.
fn targets(results: &Results, threads: &[usize], memory: &str, tail: Option<&str>) -> String {
    let mut md = String::from(
        "## Targets of issue 16\n\nEach target is judged on this run's figures only; a cell that \
         did not run is `-` and counts as missed, never as met.\n\n",
    );
    md.push_str(&target_go(results, threads));
    let weak: Vec<(Workload, &str, &str)> = WEAK_SPOTS
        .iter()
        .flat_map(|&w| BACKENDS.map(|b| (w, b, "dashmap")))
        .collect();
    write!(
        md,
        "### 2. The design's weak spots within {WITHIN}× of dashmap\n\nRatio of each backend's \
         ns/op to dashmap's (backend / dashmap ns/op).\n\n{}",
        target_ratios(results, threads, &weak)
    )
    .unwrap();
    let load =
        [Workload::LoadMostlyHits, Workload::LoadMostlyMisses].map(|w| (w, "arcswap", "epoch"));
    write!(
        md,
        "### 3. arc-swap's per-call `load` within {WITHIN}× of the epoch backend's\n\n\
         Ratio of arcswap's ns/op to epoch's (per-call `load`, not the pinned views).\n\n{}",
        target_ratios(results, threads, &load)
    )
    .unwrap();
    md.push_str(&target_memory(memory));
    md.push_str(&target_tail(tail));
    md
}

/// Target 1: each backend no slower than any Go version on each of Go's benchmarks at each
/// thread count (epoch and seize in every cell, arcswap in 60 of 72).
fn target_go(results: &Results, threads: &[usize]) -> String {
    let go: Vec<&String> = results
        .keys()
        .map(|(_, c, _)| c)
        .filter(|c| c.starts_with("Go "))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let figures = std::iter::once("backend")
        .chain(go.iter().map(|c| c.as_str()))
        .collect::<Vec<_>>()
        .join(" / ");
    let mut md = format!(
        "### 1. No slower than Go's `sync.Map` on Go's benchmarks\n\nCells: every workload with a \
         Go figure, at each thread count. A backend meets a cell when its ns/op is at most that of \
         every Go version that ran the cell (Go 1.19's `LoadAndDeleteCollision`† is not \
         compared); a cell Go ran and the backend did not counts as missed. Missed cells: \
         `workload/threads ({figures} ns/op)`.\n\n\
         | backend | target | cells Go ran | compared | no slower than Go | slower | not run |\n\
         |---|---|---:|---:|---:|---:|---:|\n"
    );
    let mut verdicts = Vec::new();
    for backend in BACKENDS {
        let (mut cells, mut met, mut not_run, mut missed) = (0usize, 0, 0, Vec::new());
        for w in Workload::ALL.map(Workload::name) {
            for &t in threads {
                let gos: Vec<(Option<f64>, bool)> = go
                    .iter()
                    .map(|c| (cell(results, w, c, t), comparable(w, c)))
                    .collect();
                let compared: Vec<f64> = gos.iter().filter(|g| g.1).filter_map(|g| g.0).collect();
                if compared.is_empty() {
                    continue;
                }
                cells += 1;
                let ns = cell(results, w, backend, t);
                match ns {
                    Some(ns) if compared.iter().all(|&g| ns <= g) => {
                        met += 1;
                        continue;
                    }
                    Some(_) => {}
                    None => not_run += 1,
                }
                let figures: Vec<String> = std::iter::once((ns, true))
                    .chain(gos)
                    .map(|(ns, comparable)| {
                        let dagger = if comparable { "" } else { "†" };
                        ns.map_or_else(|| "-".to_string(), |ns| fmt_ns(ns) + dagger)
                    })
                    .collect();
                missed.push(format!("{w}/{t} ({})", figures.join(" / ")));
            }
        }
        // arcswap: issue 16's 60 of 72 cells (24 benchmarks x 3 thread counts), pro rata.
        let (target, needed) = if backend == "arcswap" {
            let needed = (cells * 60).div_ceil(72);
            (
                format!("≥ {needed} of {cells} (issue 16: 60 of 72)"),
                needed,
            )
        } else {
            ("every cell".to_string(), cells)
        };
        writeln!(
            md,
            "| {backend} | {target} | {cells} | {} | {met} | {} | {not_run} |",
            cells - not_run,
            cells - not_run - met
        )
        .unwrap();
        let v = if cells > 0 && met >= needed && !missed.is_empty() {
            format!(
                "**met** ({met} of {cells}; slower in {})",
                missed.join(", ")
            )
        } else if met >= needed {
            verdict(cells, &[])
        } else {
            verdict(cells, &missed)
        };
        verdicts.push(format!("{backend} {v}"));
    }
    writeln!(md, "\nVerdict: {}.\n", verdicts.join("; ")).unwrap();
    md
}

/// Targets 2 and 3: `column / baseline` at each thread count, for each (workload, column,
/// baseline), each within [`WITHIN`].
fn target_ratios(results: &Results, threads: &[usize], rows: &[(Workload, &str, &str)]) -> String {
    let mut md = table_head(
        &["workload", "ratio"],
        threads.iter().map(|t| format!("{t} thr")),
    );
    let (mut cells, mut missed) = (0, Vec::new());
    for &(w, column, baseline) in rows {
        let w = w.name();
        write!(md, "| {w} | {column} / {baseline} |").unwrap();
        for &t in threads {
            cells += 1;
            match (cell(results, w, column, t), cell(results, w, baseline, t)) {
                (Some(ns), Some(base)) => {
                    let ratio = ns / base;
                    let text = format!("{ratio:.2}× ({} / {})", fmt_ns(ns), fmt_ns(base));
                    if ratio > WITHIN {
                        missed.push(format!("{w}/{column}/{t} ({ratio:.2}×)"));
                        write!(md, " **{text}** |").unwrap();
                    } else {
                        write!(md, " {text} |").unwrap();
                    }
                }
                _ => {
                    missed.push(format!("{w}/{column}/{t} (not run)"));
                    md.push_str(" - |");
                }
            }
        }
        md.push('\n');
    }
    writeln!(md, "\nVerdict: {}.\n", verdict(cells, &missed)).unwrap();
    md
}

/// Target 4: at most [`MEMORY_BOUND`] bytes per entry after inserting 1M entries, per backend,
/// from `memory.tsv` (the other states shown too).
fn target_memory(memory: &str) -> String {
    let (entries, rows) = parse_memory(memory);
    let mut states: Vec<&str> = Vec::new();
    for (map, state, _) in &rows {
        if BACKENDS.contains(&map.as_str()) && !states.contains(&state.as_str()) {
            states.push(state);
        }
    }
    let mut md = format!(
        "### 4. At most {MEMORY_BOUND} bytes per entry at steady state (1M `u64 -> u64`)\n\n\
         Heap bytes / entry from the memory bench ({entries} entries); the target is judged \
         `after inserts`, the other states are shown for reference.\n\n"
    );
    md.push_str(&table_head(&["backend"], &states));
    let mut missed = Vec::new();
    for backend in BACKENDS {
        write!(md, "| {backend} |").unwrap();
        for state in &states {
            let bytes = rows
                .iter()
                .find(|(m, s, _)| m == backend && s == state)
                .map_or("-", |(_, _, b)| b.as_str());
            write!(md, " {bytes} |").unwrap();
        }
        md.push('\n');
        let after_inserts = rows
            .iter()
            .find(|(m, s, _)| m == backend && s == "after inserts")
            .and_then(|(_, _, b)| b.parse::<f64>().ok());
        match after_inserts {
            Some(b) if b <= MEMORY_BOUND => {}
            Some(b) => missed.push(format!("{backend} ({b:.1})")),
            None => missed.push(format!("{backend} (not run)")),
        }
    }
    let scale = if entries == "1000000" {
        String::new()
    } else {
        format!(" (measured at {entries} entries, not 1,000,000)")
    };
    let cells = if rows.is_empty() { 0 } else { BACKENDS.len() };
    let scale = if cells == 0 { "" } else { scale.as_str() };
    writeln!(md, "\nVerdict: {}{scale}.\n", verdict(cells, &missed)).unwrap();
    md
}

/// Target 5: no call over 10 ms while two threads grow a map to 2M keys, from `tail.tsv`.
fn target_tail(tail: Option<&str>) -> String {
    let (facts, rows) = parse_tail(tail.unwrap_or_default());
    let fact = |key: &str| {
        facts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut md = format!(
        "### 5. No call over 10 ms while two threads grow a map to 2M keys\n\nFrom the tail run \
         ({} threads x {} keys; see the tail-latency section). A call over 10 ms of wall time \
         but not of CPU was off CPU: preempted, or waiting for the other thread.\n\n\
         | map | max | calls > 10 ms | of which > 10 ms of CPU | verdict |\n|---|---:|---:|---:|---|\n",
        fact("threads").unwrap_or("?"),
        fact("keys per thread").unwrap_or("?"),
    );
    for row in &rows {
        let (name, kv) = row;
        let raw = |key: &str| kv.get(key).map_or("?", String::as_str);
        let max = kv
            .get("max")
            .and_then(|v| v.parse().ok())
            .map_or_else(|| "?".to_string(), human_ns);
        writeln!(
            md,
            "| {name} | {max} | {} | {} | {} |",
            raw("over10ms"),
            raw("over10ms_cpu"),
            tail_verdict(row)
        )
        .unwrap();
    }
    let (mut missed, mut off_cpu) = (Vec::new(), Vec::new());
    for backend in BACKENDS {
        let kv = rows.iter().find(|(n, _)| n == backend).map(|(_, kv)| kv);
        let get = |key: &str| kv.and_then(|kv| kv.get(key)).map(String::as_str);
        match (get("over10ms"), get("over10ms_cpu")) {
            (Some("0"), _) => {}
            (Some(n), Some("0")) => off_cpu.push(format!("{backend} ({n})")),
            (Some(_), Some(n)) if n.parse::<u64>().is_ok() => {
                missed.push(format!("{backend} ({n} calls > 10 ms of CPU)"));
            }
            (None, _) => missed.push(format!("{backend} (not run)")),
            _ => missed.push(format!("{backend} (?)")),
        }
    }
    let cells = if rows.is_empty() { 0 } else { BACKENDS.len() };
    let off_cpu = format!(
        "calls over 10 ms of wall time, none of them over 10 ms of CPU (preempted, or waiting): {}",
        off_cpu.join(", ")
    );
    let mut v = match (missed.is_empty(), off_cpu.ends_with(": ")) {
        (true, false) if cells > 0 => format!("**met on CPU**; {off_cpu}"),
        (false, false) => format!("{}; {off_cpu}", verdict(cells, &missed)),
        _ => verdict(cells, &missed),
    };
    if (fact("threads"), fact("keys per thread")) != (Some("2"), Some("1000000")) && cells > 0 {
        v.push_str(" (not issue 16's 2 threads x 1M keys)");
    }
    writeln!(md, "\nVerdict: {v}.\n").unwrap();
    md
}

const THREAD_COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// A horizontal bar chart of one workload: a group of bars (one per thread count) per map, on a
/// log scale. Returns whether it drew anything.
fn plot_workload(
    path: &Path,
    workload: &str,
    results: &Results,
    columns: &[String],
    threads: &[usize],
) -> bool {
    let cols: Vec<&String> = columns
        .iter()
        .filter(|c| {
            threads
                .iter()
                .any(|&t| results.contains_key(&(workload.to_string(), (*c).clone(), t)))
        })
        .collect();
    if cols.is_empty() {
        return false;
    }
    let values: Vec<f64> = cols
        .iter()
        .flat_map(|c| {
            threads
                .iter()
                .filter_map(|&t| cell(results, workload, c, t))
        })
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let hi = values.iter().copied().fold(0.0, f64::max) * 2.0;
    let per = threads.len() + 1;
    let rows = cols.len() * per;
    let height = 80 + rows as u32 * 9;
    let root = SVGBackend::new(path, (760, height.max(240))).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{workload}: ns/op (log scale, lower is better)"),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(150)
        .build_cartesian_2d((lo..hi).log_scale(), (0..rows).into_segmented())
        .unwrap();
    let labels: Vec<String> = cols.iter().map(|c| (*c).clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(j) if j % per == threads.len() / 2 => {
                labels.get(j / per).cloned().unwrap_or_default()
            }
            _ => String::new(),
        })
        .x_desc("ns/op")
        .draw()
        .unwrap();
    for (ti, &t) in threads.iter().enumerate() {
        let color = THREAD_COLORS[ti % THREAD_COLORS.len()];
        let bars = cols.iter().enumerate().filter_map(|(ci, c)| {
            let ns = cell(results, workload, c, t)?;
            let row = ci * per + ti;
            Some(Rectangle::new(
                [
                    (lo, SegmentValue::Exact(row)),
                    (ns, SegmentValue::Exact(row + 1)),
                ],
                color.filled(),
            ))
        });
        chart
            .draw_series(bars)
            .unwrap()
            .label(format!("{t} thread{}", if t == 1 { "" } else { "s" }))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .unwrap();
    root.present().unwrap();
    true
}

/// One workload's ns/op against threads, one line per map (both axes log scale), with the
/// machine's core count marked.
fn plot_scaling(path: &Path, results: &Results, columns: &[String], workload: &str, cores: usize) {
    let series: Vec<(&String, Vec<(f64, f64)>)> = columns
        .iter()
        .map(|c| {
            let points = results
                .iter()
                .filter(|((w, col, _), _)| w == workload && col == c)
                .map(|((_, _, t), ns)| (*t as f64, *ns))
                .collect::<Vec<_>>();
            (c, points)
        })
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let (mut lo, mut hi, mut tmax) = (f64::INFINITY, 0.0f64, 1.0f64);
    for &(t, ns) in all {
        lo = lo.min(ns);
        hi = hi.max(ns);
        tmax = tmax.max(t);
    }
    let root = SVGBackend::new(path, (760, 460)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let on = if cores > 0 {
        format!("{cores} cores; ")
    } else {
        String::new()
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{workload}: ns/op by threads ({on}log scales, lower is better)"),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(
            (0.8..tmax * 1.25).log_scale(),
            (lo / 1.5..hi * 1.5).log_scale(),
        )
        .unwrap();
    chart
        .configure_mesh()
        .x_desc("threads")
        .y_desc("ns/op")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .unwrap();
    if cores > 0 && (cores as f64) < tmax {
        // Past this line threads are time-sliced on the machine's cores.
        let x = cores as f64;
        chart
            .draw_series(LineSeries::new(
                [(x, lo / 1.5), (x, hi * 1.5)],
                BLACK.mix(0.4).stroke_width(1),
            ))
            .unwrap()
            .label(format!("{cores} cores: beyond, time-sliced"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.mix(0.4)));
    }
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .unwrap()
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .unwrap();
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .unwrap();
    root.present().unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_go_naming_schemes() {
        assert_eq!(
            parse_go_line(
                "BenchmarkMapLoadMostlyHits/*sync.Map-2   \t55730270\t        22.16 ns/op"
            ),
            Some(("LoadMostlyHits".to_string(), 2, 22.16))
        );
        assert_eq!(
            parse_go_line("BenchmarkRange/*sync.Map                  \t  100000\t     13303 ns/op"),
            Some(("Range".to_string(), 1, 13303.0))
        );
        assert_eq!(
            parse_go_line("BenchmarkMapRange/*sync.RWMutexMap-2 1 2 ns/op"),
            None
        );
        assert_eq!(parse_go_line("goos: linux"), None);
    }

    #[test]
    fn reads_criterions_median() {
        let json = r#"{"mean":{"point_estimate":3.0},"median":{"confidence_interval":{"lower_bound":1.0},"point_estimate":2.5,"standard_error":0.1},"median_abs_dev":{"point_estimate":9.0}}"#;
        assert_eq!(median(json), Some(2.5));
    }

    /// Results from (workload, column, threads, ns/op) cells.
    fn results(cells: &[(&str, &str, usize, f64)]) -> Results {
        cells
            .iter()
            .map(|&(w, c, t, ns)| ((w.to_string(), c.to_string(), t), ns))
            .collect()
    }

    const GO_OLD: &str = "Go 1.19.8 sync.Map";
    const GO_NEW: &str = "Go 1.27.1 sync.Map";

    #[test]
    fn go_target_counts_the_cells_go_ran_and_misses_a_cell_slower_than_either_go() {
        let r = results(&[
            // Faster than both (epoch), slower than Go 1.27 only (seize), not run (arcswap).
            ("LoadMostlyHits", GO_OLD, 1, 20.0),
            ("LoadMostlyHits", GO_NEW, 1, 10.0),
            ("LoadMostlyHits", "epoch", 1, 9.0),
            ("LoadMostlyHits", "seize", 1, 15.0),
            // Only Go 1.27 ran: compared with it alone; a tie is no slower.
            ("LoadMostlyHits", GO_NEW, 2, 10.0),
            ("LoadMostlyHits", "epoch", 2, 10.0),
            ("LoadMostlyHits", "seize", 2, 5.0),
            ("LoadMostlyHits", "arcswap", 2, 5.0),
            // No Go figure: not a cell.
            ("Range", "seize", 1, 1e9),
            // Go 1.19's figure of this one is not comparable (†): epoch is judged on Go 1.27's.
            ("LoadAndDeleteCollision", GO_OLD, 1, 1.0),
            ("LoadAndDeleteCollision", GO_NEW, 1, 50.0),
            ("LoadAndDeleteCollision", "epoch", 1, 40.0),
        ]);
        let md = target_go(&r, &[1, 2]);
        assert!(
            md.contains(
                "`workload/threads (backend / Go 1.19.8 sync.Map / Go 1.27.1 sync.Map ns/op)`"
            ),
            "{md}"
        );
        assert!(
            md.contains("| epoch | every cell | 3 | 3 | 3 | 0 | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("| seize | every cell | 3 | 2 | 1 | 1 | 1 |"),
            "{md}"
        );
        assert!(
            md.contains("| arcswap | ≥ 3 of 3 (issue 16: 60 of 72) | 3 | 1 | 1 | 0 | 2 |"),
            "{md}"
        );
        assert!(
            md.contains(
                "Verdict: epoch **met**; \
                 seize **missed**: LoadMostlyHits/1 (15.0 / 20.0 / 10.0), \
                 LoadAndDeleteCollision/1 (- / 1.00† / 50.0); \
                 arcswap **missed**: LoadMostlyHits/1 (- / 20.0 / 10.0), \
                 LoadAndDeleteCollision/1 (- / 1.00† / 50.0).\n"
            ),
            "{md}"
        );
        // Nothing ran: nothing is met.
        assert!(target_go(&Results::new(), &[1]).contains(
            "Verdict: epoch **not measured** (no cell ran); seize **not measured** (no cell ran); \
             arcswap **not measured** (no cell ran)."
        ));
    }

    #[test]
    fn arcswap_meets_the_go_target_in_60_of_72_cells_and_not_in_59() {
        let go: Vec<&str> = Workload::ALL
            .iter()
            .map(|w| w.name())
            .filter(|&w| w != "ReadMostly")
            .collect();
        assert_eq!(go.len(), 24);
        for (slower, met) in [(12, true), (13, false)] {
            let mut cells = Vec::new();
            for (i, (w, t)) in go
                .iter()
                .flat_map(|&w| [1, 2, 4].map(|t| (w, t)))
                .enumerate()
            {
                cells.push((w, GO_NEW, t, 10.0));
                cells.push((w, "arcswap", t, if i < slower { 11.0 } else { 9.0 }));
            }
            let md = target_go(&results(&cells), &[1, 2, 4]);
            let row = format!(
                "| arcswap | ≥ 60 of 72 (issue 16: 60 of 72) | 72 | 72 | {} | {slower} | 0 |",
                72 - slower
            );
            assert!(md.contains(&row), "{md}");
            let verdict = if met {
                "arcswap **met** (60 of 72; slower in LoadMostlyHits/1 (11.0 / 10.0), "
            } else {
                "arcswap **missed**: LoadMostlyHits/1 (11.0 / 10.0), "
            };
            assert!(md.contains(verdict), "{md}");
            // epoch and seize ran no cell Go ran: every cell is missed.
            assert!(
                md.contains("| epoch | every cell | 72 | 0 | 0 | 0 | 72 |"),
                "{md}"
            );
            assert!(
                md.contains("epoch **missed**: LoadMostlyHits/1 (- / 10.0), "),
                "{md}"
            );
        }
    }

    #[test]
    fn ratio_targets_list_the_cells_over_the_bound_and_the_cells_not_run() {
        let r = results(&[
            ("LoadOrStoreUnique", "epoch", 1, 15.0),
            ("LoadOrStoreUnique", "dashmap", 1, 10.0),
            ("LoadOrStoreUnique", "epoch", 2, 16.0),
            ("LoadOrStoreUnique", "dashmap", 2, 10.0),
            ("LoadOrStoreUnique", "dashmap", 4, 10.0),
        ]);
        let rows = [(Workload::LoadOrStoreUnique, "epoch", "dashmap")];
        let md = target_ratios(&r, &[1, 2, 4], &rows);
        assert!(
            md.contains(
                "| LoadOrStoreUnique | epoch / dashmap | 1.50× (15.0 / 10.0) | \
                 **1.60× (16.0 / 10.0)** | - |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "Verdict: **missed**: LoadOrStoreUnique/epoch/2 (1.60×), \
                 LoadOrStoreUnique/epoch/4 (not run)."
            ),
            "{md}"
        );
        assert!(target_ratios(&r, &[1], &rows).contains("Verdict: **met**."));
    }

    #[test]
    fn memory_target_judges_each_backend_after_inserts() {
        let tsv = "# entries\t1000000\n\
                   memory\tepoch\tafter inserts\t40.0\n\
                   memory\tepoch\tafter promotion\t60.0\n\
                   memory\tseize\tafter inserts\t48.5\n\
                   memory\tdashmap\tafter inserts\t30.0\n";
        let md = target_memory(tsv);
        assert!(
            md.contains("| backend | after inserts | after promotion |"),
            "{md}"
        );
        assert!(
            md.contains("| epoch | 40.0 | 60.0 |\n| seize | 48.5 | - |\n| arcswap | - | - |"),
            "{md}"
        );
        assert!(
            md.contains("Verdict: **missed**: seize (48.5), arcswap (not run).\n"),
            "{md}"
        );
        let small = "# entries\t10000\nmemory\tepoch\tafter inserts\t40\nmemory\tseize\tafter inserts\t48\nmemory\tarcswap\tafter inserts\t47.9\n";
        assert!(
            target_memory(small)
                .contains("Verdict: **met** (measured at 10000 entries, not 1,000,000).\n")
        );
        assert!(target_memory("").contains("Verdict: **not measured** (no cell ran).\n"));
    }

    #[test]
    fn tail_target_tells_calls_on_cpu_from_calls_off_cpu() {
        let tsv = "# threads\t2\n# keys per thread\t1000000\n\
                   tail\ttimer only\tmax=20000000\tover10ms=1\tover10ms_cpu=0\n\
                   tail\tepoch\tmax=5000000\tover10ms=0\tover10ms_cpu=0\n\
                   tail\tseize\tmax=12000000\tover10ms=2\tover10ms_cpu=0\n\
                   tail\tarcswap\tmax=30000000\tover10ms=3\tover10ms_cpu=1\n";
        let md = target_tail(Some(tsv));
        assert!(md.contains("(2 threads x 1000000 keys;"), "{md}");
        assert!(
            md.contains("| timer only | 20.00 ms | 1 | 0 | - (the floor) |"),
            "{md}"
        );
        assert!(md.contains("| epoch | 5.00 ms | 0 | 0 | met |"), "{md}");
        assert!(md.contains("| seize | 12.00 ms | 2 | 0 | met on CPU; the 2 calls over 10 ms were off CPU (preempted, or waiting) |"), "{md}");
        assert!(
            md.contains(
                "Verdict: **missed**: arcswap (1 calls > 10 ms of CPU); calls over 10 ms of wall \
                 time, none of them over 10 ms of CPU (preempted, or waiting): seize (2).\n"
            ),
            "{md}"
        );
        let off_cpu_only = tsv.replace("over10ms=3\tover10ms_cpu=1", "over10ms=3\tover10ms_cpu=0");
        assert!(target_tail(Some(&off_cpu_only)).contains(
            "Verdict: **met on CPU**; calls over 10 ms of wall time, none of them over 10 ms of \
             CPU (preempted, or waiting): seize (2), arcswap (3).\n"
        ));
        // epoch missing from the run: not met; a shorter run is flagged.
        let partial = "# threads\t2\n# keys per thread\t1000\n\
                       tail\tseize\tmax=1\tover10ms=0\tover10ms_cpu=0\n\
                       tail\tarcswap\tmax=1\tover10ms=0\tover10ms_cpu=0\n";
        assert!(target_tail(Some(partial)).contains(
            "Verdict: **missed**: epoch (not run) (not issue 16's 2 threads x 1M keys).\n"
        ));
        assert!(target_tail(None).contains("Verdict: **not measured** (no cell ran).\n"));
    }
}
