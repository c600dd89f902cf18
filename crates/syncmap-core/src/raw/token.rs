//! [`Locked`], the proof of holding the dirty lock that the `*_locked` methods of entries ask
//! for. The lowest layer of `raw/`: it imports nothing from it.

use core::marker::PhantomData;

/// Proof that the caller holds the dirty-map lock (or has exclusive access to the map, which
/// stands in for the lock). Methods named `*_locked` take it, as Go's do by convention.
///
/// The map's one proof lives inside the state behind the lock (`Dirty`'s), and is lent out only
/// by reference, through a borrow of that state: so a `&Locked` lives no longer than the lock is
/// held (or the map exclusively borrowed).
pub(crate) struct Locked<'a>(PhantomData<&'a mut ()>);

impl Locked<'_> {
    /// # Safety
    ///
    /// The dirty-map lock is held (or the map is exclusively borrowed) for as long as the
    /// returned proof, or any borrow of it, lives.
    pub(crate) unsafe fn new() -> Self {
        Locked(PhantomData)
    }
}
