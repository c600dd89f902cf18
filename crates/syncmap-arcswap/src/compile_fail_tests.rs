//! Compile-time checks of what must *not* compile, each with a twin that does (the shape of
//! arc-swap's `compile_fail_tests.rs`), compiled for doc tests only.

/// The arc-swap map, [`SyncMap`](crate::SyncMap).
///
/// Keys and values may borrow (the map frees everything when dropped), but an owned `Arc<V>`
/// of borrowed data cannot outlive the data:
///
/// ```compile_fail
/// let value = {
///     let text = String::from("a");
///     let map: syncmap_arcswap::SyncMap<u8, &str> = syncmap_arcswap::SyncMap::new();
///     map.store(1, text.as_str());
///     map.load_owned(&1).unwrap()
/// };
/// ```
///
/// ```
/// let text = String::from("a");
/// let value = {
///     let map: syncmap_arcswap::SyncMap<u8, &str> = syncmap_arcswap::SyncMap::new();
///     map.store(1, text.as_str());
///     map.load_owned(&1).unwrap()
/// };
/// assert_eq!(*value, "a"); // outlives the map, not `text`
/// ```
///
/// A map of `!Send` keys is neither `Send` nor `Sync`:
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<syncmap_arcswap::SyncMap<std::rc::Rc<u8>, u8>>();
/// ```
///
/// Values are shared with owned `Arc`s, which the map may leave behind on another thread: a
/// map of `Send` but `!Sync` values is not `Send` (unlike the epoch backends, whose handles
/// borrow the map):
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<syncmap_arcswap::SyncMap<u8, std::cell::Cell<u8>>>();
/// ```
///
/// ```
/// fn is_send<T: Send>() {}
/// fn is_sync<T: Sync>() {}
/// is_send::<syncmap_arcswap::SyncMap<u8, u8>>();
/// is_send::<syncmap_arcswap::SyncMap<String, Vec<u8>>>();
/// is_sync::<syncmap_arcswap::SyncMap<String, Vec<u8>>>();
/// ```
///
/// An owned value of a `!Sync` type cannot cross threads:
///
/// ```compile_fail
/// let map: syncmap_arcswap::SyncMap<u8, std::cell::Cell<u8>> = syncmap_arcswap::SyncMap::new();
/// map.store(1, std::cell::Cell::new(1));
/// let value = map.load_owned(&1).unwrap();
/// std::thread::spawn(move || value.get());
/// ```
///
/// ```
/// let map: syncmap_arcswap::SyncMap<u8, u8> = syncmap_arcswap::SyncMap::new();
/// map.store(1, 1);
/// let value = map.load_owned(&1).unwrap();
/// std::thread::spawn(move || *value).join().unwrap();
/// ```
///
/// A loaded `ArcRef` holds a guard: it cannot leave its thread, even for `Send + Sync` values
/// (`into_arc` makes it an `Arc` that can):
///
/// ```compile_fail,E0277
/// fn is_send<T: Send>(_: &T) {}
/// let map: syncmap_arcswap::SyncMap<u8, u8> = syncmap_arcswap::SyncMap::new();
/// map.store(1, 1);
/// let value = map.load(&1).unwrap();
/// is_send(&value);
/// ```
///
/// ```
/// fn is_send<T: Send>(_: &T) {}
/// let map: syncmap_arcswap::SyncMap<u8, u8> = syncmap_arcswap::SyncMap::new();
/// map.store(1, 1);
/// let value = map.load(&1).unwrap().into_arc();
/// is_send(&value);
/// ```
///
/// Nor can it outlive its map:
///
/// ```compile_fail,E0597
/// let value = {
///     let map: syncmap_arcswap::SyncMap<u8, u8> = syncmap_arcswap::SyncMap::new();
///     map.store(1, 1);
///     map.load(&1).unwrap()
/// };
/// ```
///
/// A pinned reference cannot outlive its map (owned `Arc`s can):
///
/// ```compile_fail
/// let map: syncmap_arcswap::SyncMap<u8, u8> = syncmap_arcswap::SyncMap::new();
/// map.store(1, 1);
/// let value = {
///     let pinned = map.pin();
///     pinned.load(&1).unwrap()
/// };
/// ```
///
/// ```
/// let value = {
///     let map: syncmap_arcswap::SyncMap<u8, u8> = syncmap_arcswap::SyncMap::new();
///     map.store(1, 1);
///     map.load_owned(&1).unwrap()
/// };
/// assert_eq!(*value, 1);
/// ```
pub struct ArcSwap;
