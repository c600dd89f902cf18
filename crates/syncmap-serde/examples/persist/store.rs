//! Saving a snapshot to a file atomically, and loading it back.
//!
//! A save never leaves a torn file under the target name: readers, and the next start after a
//! crash, see either the previous file or the new one, whole. The steps:
//!
//! 1. write the bytes to a new temporary file in the **same directory** (a rename is atomic only
//!    within one file system);
//! 2. `fsync` the temporary file, so that its contents are on disk before its name is;
//! 3. rename it over the target (atomic on POSIX);
//! 4. `fsync` the directory, so that the rename itself survives a power loss.
//!
//! A crash before step 3 leaves the previous file untouched, plus a stray `.NAME.tmp-*` file that
//! no reader looks at. The file holds a postcard-encoded [`Snapshot`], decoded strictly on load.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
    process,
    sync::atomic::{AtomicU64, Ordering},
};

use serde::{Serialize, de::DeserializeOwned};
use syncmap_serde::{Snapshot, postcard};

/// Encodes `snapshot` and saves it to `path` atomically.
pub(crate) fn save_snapshot<K: Serialize, V: Serialize>(
    path: &Path,
    snapshot: &Snapshot<K, V>,
) -> io::Result<()> {
    let bytes = postcard::to_vec(snapshot).map_err(io::Error::other)?;
    prepare(path, &bytes)?.commit()
}

/// Reads and decodes the snapshot saved at `path`. A file that is not a valid snapshot (truncated,
/// trailing bytes, a repeated key, ...) is an `InvalidData` error carrying the decoder's message.
pub(crate) fn load_snapshot<K, V>(path: &Path) -> io::Result<Snapshot<K, V>>
where
    K: DeserializeOwned + std::hash::Hash + Eq,
    V: DeserializeOwned,
{
    let bytes = fs::read(path)?;
    postcard::from_bytes(&bytes).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {error}", path.display()),
        )
    })
}

/// A save whose bytes are written and synced to a temporary file, not yet renamed into place.
///
/// Dropping it without [`commit`](Prepared::commit) removes the temporary file (an error path);
/// a crash leaves it behind, harmlessly.
pub(crate) struct Prepared {
    temp: PathBuf,
    target: PathBuf,
    renamed: bool,
}

/// Steps 1 and 2: writes `bytes` to a new temporary file next to `path` and syncs it.
pub(crate) fn prepare(path: &Path, bytes: &[u8]) -> io::Result<Prepared> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = path.with_file_name(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let prepared = Prepared {
        temp,
        target: path.to_owned(),
        renamed: false,
    };
    // `create_new`: never reuse (and so never truncate) a file someone else may be writing.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&prepared.temp)?;
    // From here on, an early return drops `prepared`, which removes the temporary file.
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(prepared)
}

impl Prepared {
    /// Where the bytes are until [`commit`](Self::commit).
    #[allow(dead_code, reason = "used by the crash tests, which include this file")]
    pub(crate) fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Steps 3 and 4: renames the temporary file over the target and syncs the directory.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.temp, &self.target)?;
        self.renamed = true;
        sync_dir(&self.target)
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Syncs the directory holding `path`, so that a rename in it is durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened as files here; the rename is as durable as the OS makes it.
        let _ = (path, File::open::<&Path>);
        Ok(())
    }
}
