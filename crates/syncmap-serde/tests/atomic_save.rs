//! The `persist` example's atomic save: a save that stops before the rename (a crash) leaves the
//! previous file intact, in-process and in a child process that really aborts.

#[path = "../examples/persist/store.rs"]
mod store;

use std::{
    env, fs, io,
    path::{Path, PathBuf},
    process::{self, Command},
};

use syncmap_core::{SyncMap, reclaim::DeferToDrop};
use syncmap_serde::{Snapshot, postcard};

type Map = SyncMap<String, u32, DeferToDrop>;

fn map_of(entries: &[(&str, u32)]) -> Map {
    entries.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

fn sorted(snapshot: Snapshot<String, u32>) -> Vec<(String, u32)> {
    let mut snapshot = snapshot;
    snapshot.sort();
    snapshot.into_entries()
}

fn owned(entries: &[(&str, u32)]) -> Vec<(String, u32)> {
    let mut out: Vec<_> = entries.iter().map(|&(k, v)| (k.to_string(), v)).collect();
    out.sort();
    out
}

/// Files in `dir` other than `keep`, by name.
fn others(dir: &Path, keep: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != keep)
        .collect()
}

const OLD: &[(&str, u32)] = &[("a", 1), ("b", 2), ("c", 3)];
const NEW: &[(&str, u32)] = &[("a", 10), ("d", 40)];

#[test]
fn save_then_load_round_trips_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.bin");
    store::save_snapshot(&path, &Snapshot::of(&map_of(OLD))).unwrap();
    assert_eq!(sorted(store::load_snapshot(&path).unwrap()), owned(OLD));
    // Saving again replaces the file.
    store::save_snapshot(&path, &Snapshot::of(&map_of(NEW))).unwrap();
    assert_eq!(sorted(store::load_snapshot(&path).unwrap()), owned(NEW));
    assert_eq!(others(dir.path(), &path), Vec::<PathBuf>::new());
}

#[test]
fn crash_before_rename_keeps_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.bin");
    store::save_snapshot(&path, &Snapshot::of(&map_of(OLD))).unwrap();
    let old_bytes = fs::read(&path).unwrap();

    // A save that gets as far as a synced temporary file, then "crashes": no rename, and no
    // destructor runs (so the temporary file is not cleaned up either).
    let new_bytes = postcard::to_vec(&Snapshot::of(&map_of(NEW))).unwrap();
    let prepared = store::prepare(&path, &new_bytes).unwrap();
    let temp = prepared.temp_path().to_owned();
    std::mem::forget(prepared);

    assert_eq!(
        fs::read(&path).unwrap(),
        old_bytes,
        "the previous file changed"
    );
    assert_eq!(sorted(store::load_snapshot(&path).unwrap()), owned(OLD));
    // The new bytes did reach the disk, under another name in the same directory.
    assert_eq!(temp.parent(), path.parent());
    assert_eq!(fs::read(&temp).unwrap(), new_bytes);

    // The next save succeeds despite the leftover, and the leftover is never read as the file.
    store::save_snapshot(&path, &Snapshot::of(&map_of(NEW))).unwrap();
    assert_eq!(sorted(store::load_snapshot(&path).unwrap()), owned(NEW));
    assert_eq!(others(dir.path(), &path), vec![temp]);
}

#[test]
fn crash_before_the_first_save_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.bin");
    let bytes = postcard::to_vec(&Snapshot::of(&map_of(NEW))).unwrap();
    std::mem::forget(store::prepare(&path, &bytes).unwrap());
    let err = store::load_snapshot::<String, u32>(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn abandoned_save_removes_its_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.bin");
    store::save_snapshot(&path, &Snapshot::of(&map_of(OLD))).unwrap();
    // An error between prepare and commit drops the save: the temporary file goes away.
    let prepared = store::prepare(&path, b"never committed").unwrap();
    assert!(prepared.temp_path().exists());
    drop(prepared);
    assert_eq!(others(dir.path(), &path), Vec::<PathBuf>::new());
    assert_eq!(sorted(store::load_snapshot(&path).unwrap()), owned(OLD));
}

#[test]
fn load_refuses_a_damaged_file_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.bin");
    store::save_snapshot(&path, &Snapshot::of(&map_of(OLD))).unwrap();
    let bytes = fs::read(&path).unwrap();

    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = store::load_snapshot::<String, u32>(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(
        err.to_string()
            .ends_with("Hit the end of buffer, expected more data"),
        "{err}"
    );

    fs::write(&path, [&bytes[..], &[0]].concat()).unwrap();
    let err = store::load_snapshot::<String, u32>(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("trailing data: 1 byte(s) after the end of the value"),
        "{err}"
    );
}

/// Set in the child process of `crash_in_a_child_process_keeps_previous_file`.
const CRASH_PATH: &str = "SYNCMAP_SERDE_CRASH_PATH";

/// The child's side: prepares a save, then aborts the process before the rename. Does nothing
/// unless started by the parent test (which sets `CRASH_PATH`).
#[test]
#[ignore = "started in a child process by crash_in_a_child_process_keeps_previous_file"]
fn crash_child() {
    let Some(path) = env::var_os(CRASH_PATH) else {
        return;
    };
    let bytes = postcard::to_vec(&Snapshot::of(&map_of(NEW))).unwrap();
    let prepared = store::prepare(Path::new(&path), &bytes).unwrap();
    eprintln!("prepared {}", prepared.temp_path().display());
    process::abort();
}

#[test]
fn crash_in_a_child_process_keeps_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.bin");
    store::save_snapshot(&path, &Snapshot::of(&map_of(OLD))).unwrap();
    let old_bytes = fs::read(&path).unwrap();

    let output = Command::new(env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_PATH, &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the child did not crash: {stderr}"
    );
    assert!(
        stderr.contains("prepared "),
        "the child did not get to prepare: {stderr}"
    );

    assert_eq!(
        fs::read(&path).unwrap(),
        old_bytes,
        "the previous file changed"
    );
    assert_eq!(sorted(store::load_snapshot(&path).unwrap()), owned(OLD));
    // The child's synced temporary file is there, holding the new snapshot in full.
    let leftovers = others(dir.path(), &path);
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    let leftover: Snapshot<String, u32> =
        postcard::from_bytes(&fs::read(&leftovers[0]).unwrap()).unwrap();
    assert_eq!(sorted(leftover), owned(NEW));
}

/// The restored map is usable as any map: the loaded snapshot restores into a live backend.
#[test]
fn loaded_snapshot_restores_into_a_live_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.bin");
    store::save_snapshot(&path, &Snapshot::of(&map_of(OLD))).unwrap();
    let map: syncmap_epoch::SyncMap<String, u32> = store::load_snapshot(&path).unwrap().into_map();
    assert_eq!(map.len(), OLD.len());
    assert!(map.compare_and_swap("b", &2, 20));
    assert_eq!(map.load("b").as_deref(), Some(&20));
}
