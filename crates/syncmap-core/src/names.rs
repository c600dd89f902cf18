//! Short names for the strategy-dependent types in [`SyncMap`](crate::SyncMap)'s signatures, so
//! that docs and errors read `Ref<'_, V, R>` rather than `<R as Reclaim>::Ref<'_, V>`.

use crate::reclaim::{Reclaim, StoredPtr};

/// The handle [`SyncMap::load`](crate::SyncMap::load) and friends return under strategy `R`:
/// `syncmap_epoch::Ref<'a, V>` (holds an epoch guard), `syncmap_epoch::seize::Ref<'a, V>`, or
/// `syncmap_arcswap::ArcRef<'a, V>` (holds an arc-swap guard; `into_arc` gives the `Arc<V>`).
/// It derefs to `V`.
///
/// # Examples
///
/// ```
/// use syncmap_core::{Ref, SyncMap, reclaim::DeferToDrop};
///
/// let map: SyncMap<u8, u8, DeferToDrop> = SyncMap::new();
/// map.store(1, 2);
/// let value: Ref<'_, u8, DeferToDrop> = map.load(&1).unwrap();
/// assert_eq!(*value, 2);
/// ```
pub type Ref<'a, V, R> = <R as Reclaim>::Ref<'a, V>;

/// What [`IntoIter`](crate::IntoIter) yields for each value under strategy `R`: `V` when values
/// are stored in `Box`es (every guard-based backend), `Arc<V>` when they are stored in `Arc`s.
///
/// # Examples
///
/// ```
/// use syncmap_core::{Owned, SyncMap, reclaim::DeferToDrop};
///
/// let map: SyncMap<u8, String, DeferToDrop> = [(1, "a".to_string())].into_iter().collect();
/// let values: Vec<Owned<String, DeferToDrop>> = map.into_iter().map(|(_, v)| v).collect();
/// assert_eq!(values, ["a"]);
/// ```
pub type Owned<V, R> = <<R as Reclaim>::Stored<V> as StoredPtr<V>>::Owned;
