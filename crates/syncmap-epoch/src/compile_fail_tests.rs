//! Compile-time checks of what must *not* compile, each with a twin that does (the shape of
//! arc-swap's `compile_fail_tests.rs`): one item per map of this crate, compiled for doc tests
//! only.

/// The crossbeam-epoch map, [`SyncMap`](crate::SyncMap).
///
/// A map of `!Send` keys is neither `Send` nor `Sync`:
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<syncmap_epoch::SyncMap<std::rc::Rc<u8>, u8>>();
/// ```
///
/// A map of `Send` but `!Sync` values can move between threads but not be shared:
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<syncmap_epoch::SyncMap<u8, std::cell::Cell<u8>>>();
/// ```
///
/// ```
/// fn is_send<T: Send>() {}
/// fn is_sync<T: Sync>() {}
/// is_send::<syncmap_epoch::SyncMap<u8, std::cell::Cell<u8>>>();
/// is_send::<syncmap_epoch::SyncMap<String, Vec<u8>>>();
/// is_sync::<syncmap_epoch::SyncMap<String, Vec<u8>>>();
/// ```
///
/// A [`Ref`](crate::Ref) holds an epoch guard and cannot cross threads:
///
/// ```compile_fail
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let value = map.load(&1).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || *value);
/// });
/// ```
///
/// ```
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let value = *map.load(&1).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || value);
/// });
/// ```
///
/// A future that holds a [`Ref`](crate::Ref) across an `.await` is not `Send` (see
/// [`Ref`](crate::Ref) for what to do instead; the twin holds a clone):
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// assert_send(async {
///     let value = map.load(&1);
///     std::future::ready(()).await;
///     value.map(|v| *v)
/// });
/// ```
///
/// ```
/// fn assert_send<T: Send>(_: T) {}
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// assert_send(async {
///     let value = map.load_cloned(&1);
///     std::future::ready(()).await;
///     value
/// });
/// ```
///
/// Keys and values must be `'static` (crossbeam may free them after the map is gone); the
/// twin, with an owned key, compiles (and the seize map, with the `seize` feature, takes the
/// borrowed one):
///
/// ```compile_fail
/// let text = String::from("a b");
/// let map: syncmap_epoch::SyncMap<&str, u32> = syncmap_epoch::SyncMap::new();
/// map.store(text.split(' ').next().unwrap(), 1);
/// ```
///
/// ```
/// let text = String::from("a b");
/// let map: syncmap_epoch::SyncMap<String, u32> = syncmap_epoch::SyncMap::new();
/// map.store(text.split(' ').next().unwrap().to_string(), 1);
/// ```
///
/// A [`Ref`](crate::Ref) or a pinned reference cannot outlive its map:
///
/// ```compile_fail
/// let value = {
///     let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
///     map.store(1, 1);
///     map.load(&1).unwrap()
/// };
/// ```
///
/// ```compile_fail
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let value = {
///     let pinned = map.pin();
///     pinned.load(&1).unwrap()
/// };
/// ```
///
/// ```
/// let map: syncmap_epoch::SyncMap<u8, u8> = syncmap_epoch::SyncMap::new();
/// map.store(1, 1);
/// let pinned = map.pin();
/// let value = pinned.load(&1).unwrap();
/// assert_eq!(*value, 1);
/// ```
pub struct Epoch;

/// The seize map, [`seize::SyncMap`](crate::seize::SyncMap) (feature `seize`).
///
/// A map of `Send` but `!Sync` values can move between threads but not be shared:
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<syncmap_epoch::seize::SyncMap<u8, std::cell::Cell<u8>>>();
/// ```
///
/// ```
/// fn is_send<T: Send>() {}
/// fn is_sync<T: Sync>() {}
/// is_send::<syncmap_epoch::seize::SyncMap<u8, std::cell::Cell<u8>>>();
/// is_sync::<syncmap_epoch::seize::SyncMap<String, Vec<u8>>>();
/// ```
///
/// A [`Ref`](crate::seize::Ref) holds a seize guard and cannot cross threads, nor outlive its map:
///
/// ```compile_fail
/// let map: syncmap_epoch::seize::SyncMap<u8, u8> = syncmap_epoch::seize::SyncMap::new();
/// map.store(1, 1);
/// let value = map.load(&1).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || *value);
/// });
/// ```
///
/// ```compile_fail
/// let value = {
///     let map: syncmap_epoch::seize::SyncMap<u8, u8> = syncmap_epoch::seize::SyncMap::new();
///     map.store(1, 1);
///     map.load(&1).unwrap()
/// };
/// ```
///
/// ```
/// let map: syncmap_epoch::seize::SyncMap<u8, u8> = syncmap_epoch::seize::SyncMap::new();
/// map.store(1, 1);
/// let value = *map.load(&1).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || value);
/// });
/// ```
#[cfg(feature = "seize")]
pub struct Seize;
