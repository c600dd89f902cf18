//! `Memory`: heap bytes per entry after inserting 1,000,000 `u64 -> u64` entries, counted by a
//! global allocator that tracks the bytes currently allocated.
//!
//! Each map is measured in a child process of its own, so memory one map's reclamation frees
//! late cannot be subtracted from the next map's count. For the syncmap backends there are two
//! states: right after the inserts (every entry in the dirty table, the read table empty),
//! after one load of every key has promoted dirty to read (read table only, Go's steady state),
//! and after one more new key has made the map rebuild dirty from read (both tables). Then, for
//! every map, after deleting all but one key in 1,000 and reading every key once: the bytes
//! left (still divided by the original entry count) show whether memory follows the live set;
//! and the same with every 1,000th key kept instead, spread over the whole map.
//! Bytes still awaiting deferred reclamation count: that is memory the process holds.
//!
//! Output: one `memory\t<map>\t<state>\t<bytes per entry>` line per measurement on stdout
//! (and in `<report dir>/memory.tsv` when `SYNCMAP_BENCH_REPORT_DIR` is set). With `--test`
//! (as `cargo bench -- --test` passes), it runs 10,000 entries to check that it works.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    io::Write,
    process::Command,
    sync::atomic::{AtomicIsize, Ordering},
};

use syncmap_benches::{
    config::Config,
    maps::{BenchMap, ReadMap, Visitor, for_each_map},
};

/// `System`, counting the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees are ours; the counter is a side effect that touches no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by us (so by `System`) with `layout` (caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which we pass on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            ALLOCATED.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Measures one map (in this process) and prints its lines.
struct Measure {
    only: String,
    entries: u64,
    lines: Vec<String>,
}

impl Measure {
    fn per_entry(&self, since: isize) -> f64 {
        (allocated() - since) as f64 / self.entries as f64
    }

    /// Deletes the keys `delete` picks (of `0..=entries`), reads every key once, and records
    /// the bytes held since `before` as the state `state`, then read.
    fn emptied<M: BenchMap>(
        &mut self,
        name: &str,
        before: isize,
        map: &M,
        state: &str,
        delete: impl Fn(u64) -> bool,
    ) {
        for k in (0..=self.entries).filter(|&k| delete(k)) {
            map.load_and_delete(k);
        }
        for k in 0..self.entries {
            black_box(map.load(k));
        }
        let line = format!(
            "memory\t{name}\t{state}, then read\t{:.1}",
            self.per_entry(before)
        );
        self.lines.push(line);
    }
}

impl Visitor for Measure {
    fn map<M: BenchMap>(&mut self, name: &'static str) {
        if name != self.only || M::PINNED {
            return;
        }
        let before = allocated();
        let mut map = <M as BenchMap>::new();
        for k in 0..self.entries {
            // `store` (the copy-on-write map inserts in place: copying per key is quadratic).
            BenchMap::setup_store(&mut map, k, k);
        }
        self.lines.push(format!(
            "memory\t{name}\tafter inserts\t{:.1}",
            self.per_entry(before)
        ));
        if M::READ_DIRTY {
            // One load of every key: enough misses to promote dirty to read.
            for k in 0..self.entries {
                black_box(map.load(k));
            }
            let line = format!(
                "memory\t{name}\tafter promotion\t{:.1}",
                self.per_entry(before)
            );
            self.lines.push(line);
            // One new key: dirty is rebuilt from read, so both tables exist.
            map.store(self.entries, 0);
            let line = format!(
                "memory\t{name}\tdirty rebuilt\t{:.1}",
                self.per_entry(before)
            );
            self.lines.push(line);
        }
        // Emptied: delete all but one key in 1,000, then read every key once. Memory should
        // follow the live set (Go's map keeps every deleted key until a new key is stored).
        // Not for the copy-on-write map, whose deletes each copy the map (quadratic).
        if M::COPY_ON_WRITE {
            drop(map);
            return;
        }
        let kept = (self.entries / 1000).max(1);
        self.emptied(name, before, &map, "emptied to 0.1%", |k| k >= kept);
        drop(map);
        // The same, keeping every 1,000th key instead of the first 1,000: survivors spread
        // over the whole map, which is what a slab (the syncmap backends' entry arena) keeps
        // memory for, one chunk per survivor at worst.
        let before = allocated();
        let map = <M as BenchMap>::new();
        for k in 0..self.entries {
            map.store(k, k);
        }
        self.emptied(name, before, &map, "emptied to every 1,000th key", |k| {
            k % 1000 != 0
        });
        drop(map);
    }

    fn read_only<M: ReadMap>(&mut self, name: &'static str) {
        if name != self.only {
            return;
        }
        let before = allocated();
        let mut map = M::new();
        for k in 0..self.entries {
            map.setup_store(k, k);
        }
        self.lines.push(format!(
            "memory\t{name}\tafter inserts\t{:.1}",
            self.per_entry(before)
        ));
        drop(map);
    }
}

/// Lists the map names (the non-pinned ones: a pinned view has the same memory).
struct Names(Vec<&'static str>);

impl Visitor for Names {
    fn map<M: BenchMap>(&mut self, name: &'static str) {
        if !M::PINNED {
            self.0.push(name);
        }
    }
    fn read_only<M: ReadMap>(&mut self, name: &'static str) {
        self.0.push(name);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = Config::from_env();
    let entries = if args.iter().any(|a| a == "--test") {
        10_000
    } else {
        config.memory_entries
    };

    // Child: `memory --one <map> <entries>`.
    if let Some(pos) = args.iter().position(|a| a == "--one") {
        let mut measure = Measure {
            only: args[pos + 1].clone(),
            entries: args[pos + 2].parse().expect("entries"),
            lines: Vec::new(),
        };
        for_each_map(&mut measure);
        for line in measure.lines {
            println!("{line}");
        }
        return;
    }
    // Parent: ignore criterion's arguments other than a name filter.
    let filter = args.iter().find(|a| !a.starts_with('-'));

    let mut names = Names(Vec::new());
    for_each_map(&mut names);
    let exe = std::env::current_exe().expect("the path of this bench");
    let mut out = Vec::new();
    for name in names.0 {
        if filter.is_some_and(|f| !name.contains(f.as_str()) && !"Memory".contains(f.as_str())) {
            continue;
        }
        let child = Command::new(&exe)
            .args(["--one", name, &entries.to_string()])
            .output()
            .expect("run the memory bench's child");
        assert!(
            child.status.success(),
            "memory bench of {name} failed: {child:?}"
        );
        let text = String::from_utf8_lossy(&child.stdout).into_owned();
        print!("{text}");
        out.push(text);
    }
    if let Ok(dir) = std::env::var("SYNCMAP_BENCH_REPORT_DIR") {
        std::fs::create_dir_all(&dir).expect("create the report dir");
        let mut file = std::fs::File::create(format!("{dir}/memory.tsv")).expect("memory.tsv");
        writeln!(file, "# entries\t{entries}").expect("write memory.tsv");
        for text in out {
            file.write_all(text.as_bytes()).expect("write memory.tsv");
        }
    }
}
