//! Persisting a live map: snapshot it, save the snapshot to a file atomically, load it back into
//! a new map (here of another backend), and see a damaged file refused with a clear error.
//!
//! ```sh
//! cargo run -p syncmap-serde --example persist [PATH]
//! ```

mod store;

use std::{env, path::PathBuf};

use serde::{Deserialize, Serialize};
use syncmap_core::reclaim::DeferToDrop;
use syncmap_serde::Snapshot;

/// What the cache holds per URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Page {
    status: u16,
    etag: Option<String>,
    body_len: u64,
}

fn main() -> std::io::Result<()> {
    let path = env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        let dir = env::temp_dir().join("syncmap-serde-persist");
        std::fs::create_dir_all(&dir).expect("create the example's directory");
        dir.join("cache.postcard")
    });

    // A live cache that other threads could be reading and writing meanwhile.
    let cache: syncmap_epoch::SyncMap<String, Page> = syncmap_epoch::SyncMap::new();
    for (i, url) in ["/", "/about", "/blog", "/blog/atomic-saves"]
        .iter()
        .enumerate()
    {
        let page = Page {
            status: 200,
            etag: (i % 2 == 0).then(|| format!("\"v{i}\"")),
            body_len: 1000 * (i as u64 + 1),
        };
        cache.store(url.to_string(), page);
    }

    // Save: one `range` over the live map, then an atomic write of the encoded bytes.
    let mut snapshot = Snapshot::of(&cache);
    snapshot.sort(); // same contents, same bytes
    store::save_snapshot(&path, &snapshot)?;
    let size = std::fs::metadata(&path)?.len();
    println!(
        "saved {} entries to {} ({size} bytes)",
        snapshot.len(),
        path.display()
    );

    // Load into a new map of another backend.
    let loaded: Snapshot<String, Page> = store::load_snapshot(&path)?;
    let restored: syncmap_core::SyncMap<String, Page, DeferToDrop> = loaded.into_map();
    assert_eq!(restored.len(), cache.len());
    restored.range(|url, page| {
        assert_eq!(cache.load(url).as_deref(), Some(page));
        println!("  {url}: {page:?}");
        true
    });

    // A damaged file (here: cut short) is refused, with the decoder's message.
    let bytes = std::fs::read(&path)?;
    let damaged = path.with_extension("damaged");
    std::fs::write(&damaged, &bytes[..bytes.len() - 3])?;
    match store::load_snapshot::<String, Page>(&damaged) {
        Ok(_) => unreachable!("a truncated file decoded"),
        Err(error) => println!("damaged copy refused: {error}"),
    }
    std::fs::remove_file(&damaged)?;
    Ok(())
}
