//! [`Admits`]: which keys and values a strategy can hold, so that borrowed ones (`&str` from a
//! local `String`) are allowed wherever the strategy frees everything before the map is gone.

#[cfg(doc)]
use super::DeferToDrop;
use super::Reclaim;

/// A strategy that may hold objects of type `T` (for the map: `T = (K, V)`).
///
/// The map's methods require `R: Admits<(K, V)>`. A strategy that reclaims every retired
/// object by the end of its own drop (which the map's drop runs) admits every `T`, borrowed
/// data included: the map, and with it the strategy, cannot outlive what `K` and `V` borrow.
/// A strategy that may reclaim later, after the map is gone (crossbeam-epoch's global
/// collector, on any thread), admits only `T: 'static`.
///
/// | strategy | admits |
/// |---|---|
/// | [`DeferToDrop`], seize (`syncmap_epoch::seize`), arc-swap | every `T` |
/// | crossbeam-epoch (`syncmap_epoch`) | `T: 'static` |
///
/// # Safety
///
/// An implementation for a `T` that is not `'static` promises that [`Reclaim::retire`]d
/// objects holding a `T` are reclaimed, and nothing holding a `T` is touched, after the
/// strategy's drop returns: so no reclamation outlives a borrow in `T`.
///
/// # Examples
///
/// A map of keys borrowed from a local `String`, with a strategy that frees everything when
/// the map is dropped:
///
/// ```
/// use syncmap_core::{SyncMap, reclaim::DeferToDrop};
///
/// let text = String::from("the quick brown the lazy the");
/// let counts: SyncMap<&str, u32, DeferToDrop> = SyncMap::new();
/// for word in text.split(' ') {
///     let (n, _) = counts.load_or_store(word, 0);
///     let n = *n;
///     counts.store(word, n + 1);
/// }
/// assert_eq!(counts.load("the").as_deref(), Some(&3));
/// drop(counts);
/// drop(text); // the map, which borrowed it, is gone
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold `{T}`: its keys and values must be `'static`",
    note = "this strategy may free replaced keys and values after the map is gone; store owned data, or use a strategy that frees everything when the map drops (seize, arc-swap)"
)]
pub unsafe trait Admits<T>: Reclaim {}
