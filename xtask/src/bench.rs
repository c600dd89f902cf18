//! `cargo xtask bench [--quick] [--threads 1,2,4,...]`: the head-to-head comparison, and its
//! report.
//!
//! 1. builds the `syncmap-benches` targets (bench profile, without debug info);
//! 2. runs the criterion timings (`benches/benches/sync_map.rs`) with a progress line, at each
//!    thread count of `--threads` (`SYNCMAP_BENCH_THREADS`; `1,2,4` by default);
//! 3. if a Go toolchain is on `PATH`, named by `GO`, or installed as Debian's Go 1.19
//!    (`/usr/lib/go-1.19/bin/go`), runs Go's own `go test -run NONE -bench <sync.Map> -cpu
//!    <threads> sync` and Go's memory per entry with each (optional: nothing needs Go);
//! 4. runs the memory bench (`benches/benches/memory.rs`);
//! 5. runs the tail-latency binary (`benches/src/bin/tail.rs`: two threads grow each map to 2M
//!    keys with `load_or_store`, every call timed);
//! 6. writes `<target dir>/bench-report/report.md` and its SVG plots (`bench-report` binary),
//!    with thread-scaling plots of a few workloads when more than one thread count ran.
//!
//! `--quick` shortens criterion's warm-up and measurement and Go's `-benchtime`.
//! `--threads` takes thread counts beyond the machine's cores too (`1,2,4,8,16,32`): on a
//! machine with fewer cores than threads, the extra threads are time-sliced, so those figures
//! measure contention under preemption, not parallel scaling (the report says so).

use std::{
    fs,
    io::{BufRead, BufReader, IsTerminal, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use crate::util::{self, CommandExt, Step, cargo};

/// Debug info makes the bench binary several times slower to build and changes nothing measured.
const NO_DEBUG: (&str, &str) = ("CARGO_PROFILE_BENCH_DEBUG", "false");

/// Thread counts of the comparison (and Go's `-cpu`) unless `--threads` says otherwise.
const THREADS: &str = "1,2,4";

/// `--threads`' value, checked: positive numbers, comma-separated, normalized (`1,2,4`).
fn parse_threads(list: &str) -> Result<String, String> {
    let mut threads = Vec::new();
    for t in list.split(',') {
        match t.trim().parse::<usize>() {
            Ok(n) if n > 0 => threads.push(n),
            _ => {
                return Err(format!(
                    "--threads takes comma-separated thread counts such as 1,2,4,8 (got `{list}`)"
                ));
            }
        }
    }
    threads.sort_unstable();
    threads.dedup();
    Ok(threads
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(","))
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    let mut threads = THREADS.to_string();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--threads" => {
                let list = args
                    .next()
                    .ok_or("--threads needs a list, such as 1,2,4,8")?;
                threads = parse_threads(list)?;
            }
            other => match other.strip_prefix("--threads=") {
                Some(list) => threads = parse_threads(list)?,
                None => {
                    return Err(format!(
                        "`bench` takes `--quick` and `--threads 1,2,4,..` (got `{other}`)"
                    ));
                }
            },
        }
    }
    let threads = threads.as_str();
    let started = Instant::now();
    let target = target_dir();
    let report = target.join("bench-report");
    let _ = fs::remove_dir_all(&report);
    fs::create_dir_all(&report).map_err(|e| format!("create {}: {e}", report.display()))?;
    write_run_facts(&report, quick, threads)?;

    let (k, v) = NO_DEBUG;
    eprintln!("==> build (bench profile)");
    status(
        &mut cargo(["bench", "-p", "syncmap-benches", "--no-run", "--quiet"]).env(k, v),
        "build the benches",
    )?;

    eprintln!(
        "==> timings (criterion; full log in {}/criterion.log)",
        report.display()
    );
    let timings = cargo([
        "bench",
        "-p",
        "syncmap-benches",
        "--quiet",
        "--bench",
        "sync_map",
    ])
    .env(k, v)
    .env("SYNCMAP_BENCH_PROGRESS", "1")
    .env("SYNCMAP_BENCH_THREADS", threads)
    .env("SYNCMAP_BENCH_QUICK", if quick { "1" } else { "0" });
    with_progress(timings, &report.join("criterion.log"))?;

    for go in go_toolchains() {
        run_go(&go, &report, quick, threads);
    }

    eprintln!("==> memory");
    status(
        &mut cargo([
            "bench",
            "-p",
            "syncmap-benches",
            "--quiet",
            "--bench",
            "memory",
        ])
        .env(k, v)
        .env("SYNCMAP_BENCH_REPORT_DIR", &report.to_string_lossy()),
        "the memory bench",
    )?;

    eprintln!("==> tail latency (two threads grow each map to 2M keys)");
    status(
        &mut bench_bin("tail").env("SYNCMAP_BENCH_REPORT_DIR", &report.to_string_lossy()),
        "the tail-latency run",
    )?;

    eprintln!("==> report");
    status(
        bench_bin("bench-report")
            .arg(&report)
            .arg(target.join("criterion")),
        "the report",
    )?;
    eprintln!(
        "bench: done in {:.0?}; report: {}",
        started.elapsed(),
        report.join("report.md").display()
    );
    Ok(())
}

/// Seconds of the soak that `cargo xtask ci` runs (two per backend and workload).
const CI_SOAK_SECS: &str = "24";

/// The soak (`benches/src/bin/soak.rs`): churn workloads on every backend while the heap is
/// sampled; fails if the heap keeps growing.
fn soak_command(secs: &str) -> Command {
    let mut command = bench_bin("soak");
    command.args(["--secs", secs]);
    command
}

/// `cargo run` of one of the benches crate's binaries in the bench profile (as the benches
/// build it, so the two share their artifacts); arguments follow.
fn bench_bin(name: &str) -> Command {
    let (k, v) = NO_DEBUG;
    cargo([
        "run",
        "--quiet",
        "--profile",
        "bench",
        "-p",
        "syncmap-benches",
        "--bin",
        name,
        "--",
    ])
    .env(k, v)
}

/// `cargo xtask soak [--secs N]` (60 seconds by default).
pub(crate) fn soak(args: &[String]) -> Result<(), String> {
    let secs = match args {
        [] => "60",
        [flag, secs] if flag == "--secs" && secs.parse::<f64>().is_ok_and(|s| s > 0.0) => secs,
        _ => return Err("usage: cargo xtask soak [--secs N]".to_string()),
    };
    util::run_steps([Step::new("soak", soak_command(secs))])
}

/// The benchmark steps `cargo xtask ci` runs: build the benches, then run each workload on each
/// map once with a few thousand operations (and the memory bench on 10,000 entries), so they
/// cannot rot, and a short soak. Nothing here asserts speed.
pub(crate) fn ci_steps() -> Vec<Step> {
    let (k, v) = NO_DEBUG;
    vec![
        Step::new(
            "benches: build",
            cargo(["bench", "-p", "syncmap-benches", "--no-run"]).env(k, v),
        ),
        Step::new(
            "benches: each workload once",
            cargo(["bench", "-p", "syncmap-benches", "--bench", "sync_map"])
                .env(k, v)
                .env("SYNCMAP_BENCH_SMOKE", "2000"),
        ),
        Step::new(
            "benches: memory, small",
            cargo([
                "bench",
                "-p",
                "syncmap-benches",
                "--bench",
                "memory",
                "--",
                "--test",
            ])
            .env(k, v),
        ),
        Step::new("soak (short)", soak_command(CI_SOAK_SECS)),
    ]
}

/// The target directory, absolute: the report dir derived from it is passed to benches that
/// cargo runs from their package's directory, where a relative path would land elsewhere.
fn target_dir() -> PathBuf {
    let dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    std::path::absolute(&dir).unwrap_or(dir)
}

fn status(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("{what}: cannot start {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// The first line of a command's output, if it runs.
fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string())
}

/// `run.tsv`: when the run started (the report ignores older criterion results) and the machine.
fn write_run_facts(report: &Path, quick: bool, threads: &str) -> Result<(), String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or_else(
            || "unknown".into(),
            |kb| format!("{:.0} GiB", kb as f64 / 1048576.0),
        );
    let rustc = first_line("rustc", &["-V"]).unwrap_or_else(|| "rustc ?".into());
    let kernel = first_line("uname", &["-sr"]).unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let mode = if quick {
        "`cargo xtask bench --quick` (criterion: 40 ms warm-up, 150 ms measurement, 10 samples; Go: -benchtime 50ms)"
    } else {
        "`cargo xtask bench` (criterion: 200 ms warm-up, 1 s measurement, 15 samples; Go: -benchtime 1s)"
    };
    let text = format!(
        "started\t{now}\nmode\t{mode}\nmachine\t{cores} cores ({cpu}), {memory}, {kernel}\n\
         threads\t{threads}\ntoolchain\t{rustc}\nload average at start\t{load}\n"
    );
    fs::write(report.join("run.tsv"), text).map_err(|e| format!("write run.tsv: {e}"))
}

/// Runs `command`, showing its `@@progress` stdout lines as one updating line on stderr and
/// sending everything else to `log`.
fn with_progress(mut command: Command, log: &Path) -> Result<(), String> {
    let mut log_file =
        fs::File::create(log).map_err(|e| format!("create {}: {e}", log.display()))?;
    let stderr_log = log_file
        .try_clone()
        .map_err(|e| format!("open {}: {e}", log.display()))?;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr_log))
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut last_line = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("read the bench's output: {e}"))?;
        if let Some(progress) = line.strip_prefix("@@progress ") {
            // `<done>/<total> <secs>s <name>`
            let mut parts = progress.splitn(3, ' ');
            let (count, name) = (parts.next().unwrap_or(""), parts.nth(1).unwrap_or(""));
            let elapsed = started.elapsed().as_secs();
            let eta = count
                .split_once('/')
                .and_then(|(d, t)| Some((d.parse::<u64>().ok()?, t.parse::<u64>().ok()?)))
                .filter(|&(d, _)| d > 1)
                .map(|(d, t)| format!(", ~{}s left", elapsed * (t - d + 1) / (d - 1)))
                .unwrap_or_default();
            if tty {
                eprint!("\r\x1b[2K[{count}] {elapsed}s{eta}  {name}");
            } else if elapsed >= last_line + 30 {
                // Not a terminal (a log): a plain line every 30 s.
                last_line = elapsed;
                eprintln!("[{count}] {elapsed}s{eta}  {name}");
            }
        } else {
            let _ = writeln!(log_file, "{line}");
        }
    }
    eprintln!();
    let status = child
        .wait()
        .map_err(|e| format!("wait for the bench: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the timings failed ({status}); see {}",
            log.display()
        ))
    }
}

/// Go toolchains to compare with: `GO`, `go` on `PATH`, Debian's Go 1.19; one per version.
fn go_toolchains() -> Vec<(String, String)> {
    let mut candidates: Vec<String> = Vec::new();
    if let Ok(go) = std::env::var("GO") {
        candidates.extend(go.split(':').filter(|s| !s.is_empty()).map(String::from));
    }
    candidates.push("go".into());
    candidates.push("/usr/lib/go-1.19/bin/go".into());
    let mut found: Vec<(String, String)> = Vec::new();
    for go in candidates {
        let Some(version) = go_command(&go)
            .arg("version")
            .output()
            .ok()
            .filter(|o| o.status.success())
        else {
            continue;
        };
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        if !found.iter().any(|(_, v)| *v == version) {
            found.push((go, version));
        }
    }
    if found.is_empty() {
        eprintln!("==> Go: no toolchain found (set GO=/path/to/go to add Go's columns); skipped");
    }
    found
}

/// A `go` command with a clean Go environment (its own GOROOT, no toolchain switching).
fn go_command(go: &str) -> Command {
    let mut command = Command::new(go);
    command
        .env_remove("GOROOT")
        .env_remove("GOFLAGS")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "auto");
    command
}

/// Runs Go's own `sync.Map` benchmarks and Go's memory per entry with one toolchain. Failures
/// are reported and skipped: Go is optional.
fn run_go((go, version): &(String, String), report: &Path, quick: bool, threads: &str) {
    let tag = version
        .split_whitespace()
        .find(|w| w.starts_with("go1"))
        .unwrap_or("go")
        .to_string();
    // Go 1.19 names them `BenchmarkLoadMostlyHits`; Go 1.24+ `BenchmarkMapLoadMostlyHits`.
    let pattern = r"^Benchmark(Map)?(LoadMostly|LoadOrStore|LoadAndDelete|Range|Adversarial|DeleteCollision|Swap|CompareAnd|Clear)/^\*sync\.Map$";
    let benchtime = if quick { "50ms" } else { "1s" };
    eprintln!(
        "==> {version}: go test -run NONE -bench <sync.Map> -cpu {threads} -benchtime {benchtime} sync"
    );
    let out = go_command(go)
        .args(["test", "-run", "NONE", "-bench", pattern, "-cpu", threads])
        .args(["-benchtime", benchtime, "sync"])
        .stderr(Stdio::inherit())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = format!("# {version}\n{}", String::from_utf8_lossy(&out.stdout));
            let _ = fs::write(report.join(format!("go-{tag}.txt")), text);
        }
        Ok(out) => eprintln!("{version}: go test failed ({}); skipped", out.status),
        Err(e) => eprintln!("{version}: cannot run {go}: {e}; skipped"),
    }

    let source = Path::new("benches/go/memory/main.go");
    let out = go_command(go)
        .arg("run")
        .arg(source)
        .stderr(Stdio::inherit())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = format!("# {version}\n{}", String::from_utf8_lossy(&out.stdout));
            let _ = fs::write(report.join(format!("go-{tag}-memory.txt")), text);
        }
        Ok(out) => eprintln!(
            "{version}: go run {} failed ({})",
            source.display(),
            out.status
        ),
        Err(e) => eprintln!("{version}: cannot run {go}: {e}"),
    }
}
