//! [`Entry`]: one key, its cached hash, and its atomically replaced value slot, whose state is
//! decoded once into [`State`] and changed by the CAS loops below; and an entry's memory: its
//! allocation (with the inline slot of a new key's first value, [`WithSlot`]), its freeing and
//! its reclamation.

use core::{alloc::Layout, borrow::Borrow, marker::PhantomData, mem::MaybeUninit, ptr::NonNull};

use super::{
    arena::{self, ARENA_TAG, Arena},
    token::Locked,
    value::{Incoming, Owned, RetiredValue, dealloc},
};
use crate::{
    primitive::sync::atomic::{AtomicPtr, Ordering::*},
    reclaim::{Reclaim, StoredPtr},
    unwind::DropAll,
};

/// The addresses behind the *expunged*, *reserved* and *orphaned* states: the top three of the
/// address space, which no allocation can have, nor the dangling pointer of a boxed zero-sized
/// value (its address is its alignment, a power of two no larger than 2^29). Pointers without
/// provenance, never dereferenced.
///
/// With null, the four non-values are the four addresses that wrap to `0..=3` when 3 is added,
/// so telling a value from a sentinel is one addition and one comparison ([`is_value`]), with
/// no address to load, on every read.
const EXPUNGED_ADDR: usize = usize::MAX;
const RESERVED_ADDR: usize = usize::MAX - 1;
const ORPHANED_ADDR: usize = usize::MAX - 2;

/// Whether `p`, read from a slot, is a value pointer: neither null nor a sentinel.
#[inline(always)]
fn is_value<V>(p: *mut V) -> bool {
    p.addr().wrapping_add(3) > 3
}

/// The sentinel pointer of the *expunged* state.
#[inline]
fn expunged<V>() -> *mut V {
    core::ptr::without_provenance_mut(EXPUNGED_ADDR)
}

/// The sentinel pointer of the *reserved* state.
#[inline]
fn reserved<V>() -> *mut V {
    core::ptr::without_provenance_mut(RESERVED_ADDR)
}

/// The sentinel pointer of the *orphaned* state. Only a reclaimer writes it, and only the
/// reserving thread reads it back (see [`Entry::end_reserved`]), so [`State::decode`] never
/// meets it.
#[inline]
fn orphaned<V>() -> *mut V {
    core::ptr::without_provenance_mut(ORPHANED_ADDR)
}

/// A value slot, decoded: one row of [`Entry`]'s state table.
pub(crate) enum State<V> {
    /// The key maps to this value.
    Present(NonNull<V>),
    /// Null: the key is absent; the entry stays linked.
    Deleted,
    /// The key is absent and dirty does not hold this entry.
    Expunged,
    /// The key is absent while one thread computes its value.
    Reserved,
}

impl<V> State<V> {
    /// Decodes a pointer read from a slot.
    #[inline]
    pub(super) fn decode(p: *mut V) -> Self {
        match NonNull::new(p) {
            Some(value) if is_value(p) => State::Present(value),
            _ => {
                debug_assert_ne!(
                    p.addr(),
                    ORPHANED_ADDR,
                    "only the reserving thread reads it"
                );
                match p.addr() {
                    0 => State::Deleted,
                    EXPUNGED_ADDR => State::Expunged,
                    _ => State::Reserved,
                }
            }
        }
    }

    /// The present value, if any.
    #[inline]
    pub(crate) fn present(self) -> Option<NonNull<V>> {
        match self {
            State::Present(value) => Some(value),
            _ => None,
        }
    }
}

/// One key of the map, shared by the read table and the dirty table.
///
/// The key and its hash never change; the hash is cached so that rebuilding the dirty table
/// from the read table never calls the user's `Hash`.
///
/// # State table of `value`
///
/// | `value`        | state        | meaning                                                                 |
/// |----------------|--------------|-------------------------------------------------------------------------|
/// | a value pointer| **present**  | the key maps to `*value`; the entry is in read, and in dirty if dirty exists |
/// | null           | **deleted**  | the key is absent, but the entry stays linked and a store may revive it without the lock |
/// | `EXPUNGED`     | **expunged** | the key is absent, dirty exists and does *not* hold this entry; only read links it |
/// | `RESERVED`     | **reserved** | the key is absent while one thread computes its value (`load_or_store_with`); writers of the key wait |
///
/// Transitions (all by CAS or swap on `value`):
///
/// | from → to               | who                                   | lock |
/// |-------------------------|---------------------------------------|------|
/// | present → present       | swap, compare-and-swap                | no   |
/// | present → deleted       | delete, compare-and-delete            | no   |
/// | deleted → present       | store, swap, load-or-store            | no   |
/// | deleted → expunged      | [`try_expunge_locked`](Self::try_expunge_locked), while rebuilding dirty | yes  |
/// | expunged → deleted      | [`unexpunge_locked`](Self::unexpunge_locked), before relinking into dirty | yes  |
/// | deleted → reserved      | [`try_reserve`](Self::try_reserve) (or a new entry made reserved) | no   |
/// | reserved → present      | [`publish_reserved`](Self::publish_reserved), by the reserving thread only, while the entry is linked | no   |
/// | reserved → deleted      | [`end_reserved`](Self::end_reserved), by the reserving thread (its closure failed, or the entry was unlinked meanwhile) | no   |
/// | reserved → orphaned     | the reclamation of an entry unlinked while reserved ([`free_batch`](Self::free_batch), see below) | no   |
///
/// Readers, deleters and compare-and-swap treat *reserved* as absent; store, swap and
/// load-or-store wait until the reservation ends, so only its owner ever leaves that state
/// (but for the reclaimer's hand-over below). Nothing leaves or enters *expunged* without the
/// lock, which is why, under the lock, "expunged" is a reliable answer to "is this entry
/// missing from dirty?".
///
/// # Reservations hold no guard
///
/// The thread that reserved an entry runs the user's closure (or awaits the user's future)
/// holding no guard, so a `clear` may unlink and retire the entry meanwhile (a compaction keeps
/// reserved entries: it expunges only deleted ones), and the strategy may reclaim it before the
/// reservation ends. The reservation itself keeps
/// the entry's memory alive, by a hand-over between the two parties that may free it:
///
/// * the reclaimer (a retired table's reclamation, through [`free_batch`](Self::free_batch))
///   frees an entry whose slot is not *reserved*; if it is,
///   it swaps in *orphaned* instead and leaves the entry to the reserving thread;
/// * the reserving thread ends its reservation with a swap ([`end_reserved`](Self::end_reserved)):
///   if that swap returns *orphaned*, the entry was already reclaimed in all but memory and the
///   reserving thread frees it; otherwise the reclaimer, if it ever runs, finds *deleted* and
///   frees it as usual.
///
/// Exactly one of them frees the entry, since both act by one atomic swap on the slot. The
/// reserving thread publishes a value only into an entry it has just found linked under a
/// fresh guard (or under the lock, with that guard held), so that the entry, and the value in
/// it, are then protected by that guard like any other (`reserve.rs`).
///
/// # Ownership
///
/// An entry owns the value its slot points at: whoever replaces the pointer owns the old value
/// and retires it (see `value.rs` for a value's whole life, including the inline first value).
/// The entry itself is owned by the map as a whole (tables hold raw pointers), and is retired
/// when it becomes unreachable from both tables: see [`RawMap`](super::RawMap).
pub(crate) struct Entry<K, V, R: Reclaim> {
    pub(crate) hash: u64,
    pub(crate) key: K,
    value: AtomicPtr<V>,
    _reclaim: PhantomData<R>,
}

/// What a lock-free load-or-store found.
pub(crate) enum LoadOrStore<V, R: Reclaim> {
    /// The key was present: its value, and the value the caller offered, returned unused.
    Loaded(NonNull<V>, Incoming<V, R>),
    /// The offered value was stored; this is its pointer, now owned by the entry.
    Stored(NonNull<V>),
    /// The entry is expunged: the caller must take the lock.
    Expunged(Incoming<V, R>),
    /// Another thread holds a reservation: the caller must wait for it to end.
    Reserved(Incoming<V, R>),
}

/// How a reservation ended ([`Entry::end_reserved`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The entry is *deleted*: still linked, or left for the strategy to reclaim.
    Deleted,
    /// The strategy had already reclaimed the entry and handed it over: the caller frees it.
    Orphaned,
}

/// What an attempt to reserve an entry found.
pub(crate) enum Reserve<V> {
    /// The key is present with this value.
    Loaded(NonNull<V>),
    /// The entry is now reserved by the caller, which must publish or cancel.
    Reserved,
    /// Another thread holds the reservation.
    Busy,
    /// The entry is expunged: the caller must take the lock.
    Expunged,
}

impl<K, V, R: Reclaim> Entry<K, V, R> {
    /// A new entry reserved by the caller, on the heap.
    pub(crate) fn boxed_reserved(
        hash: u64,
        key: K,
        arena: Option<&mut Arena>,
    ) -> EntryPtr<K, V, R> {
        Self::allocate(hash, key, Err(reserved::<V>()), arena)
    }

    /// Whether this is `key`'s entry. Keys only: the table's control byte already matched the
    /// hash's top 7 bits, and the cached hash carries the arena tag ([`ARENA_TAG`]).
    #[inline]
    pub(crate) fn matches<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.key.borrow() == key
    }

    /// The slot's current state (a load with the strategy's `READ_ORDERING`, acquire or
    /// stronger: the load a guard from `Reclaim::pin_reads` protects).
    #[inline]
    pub(crate) fn state(&self) -> State<V> {
        State::decode(self.value.load(R::READ_ORDERING))
    }

    /// Go's `entry.load`: the present value, if any.
    #[inline]
    pub(crate) fn load(&self) -> Option<NonNull<V>> {
        let p = self.value.load(R::READ_ORDERING);
        // `filter` after `new`: the compiler folds `new`'s null check into `is_value`'s.
        NonNull::new(p).filter(|_| is_value(p))
    }

    /// Whether the entry is expunged. Stable only under the lock.
    pub(crate) fn is_expunged(&self, _locked: &Locked<'_>) -> bool {
        matches!(self.state(), State::Expunged)
    }

    /// Go's `trySwap`: swaps in `new` unless the entry is expunged (or reserved). Returns the
    /// previous present value (which the caller now owns), or gives `new` back, in which case the
    /// caller takes the lock.
    pub(crate) fn try_swap(&self, new: Owned<V, R>) -> Result<Option<NonNull<V>>, Owned<V, R>> {
        let mut p = self.value.load(Acquire);
        loop {
            let previous = match State::decode(p) {
                State::Present(value) => Some(value),
                State::Deleted => None,
                State::Expunged | State::Reserved => return Err(new),
            };
            match self
                .value
                .compare_exchange_weak(p, new.as_ptr(), AcqRel, Acquire)
            {
                Ok(_) => {
                    new.into_raw();
                    return Ok(previous);
                }
                Err(current) => p = current,
            }
        }
    }

    /// Go's `swapLocked`: the entry is known not to be expunged (the lock is held, and it was
    /// unexpunged or found in dirty). Returns the previous present value, now the caller's, or
    /// gives `new` back if another thread holds a reservation (the caller waits for it).
    pub(crate) fn swap_locked(
        &self,
        new: Owned<V, R>,
        _locked: &Locked<'_>,
    ) -> Result<Option<NonNull<V>>, Owned<V, R>> {
        // Only lock holders expunge, so under the lock `try_swap` can refuse only a reservation
        // (which may begin lock-free on a deleted read entry: hence a CAS loop, not a swap).
        debug_assert!(
            !matches!(self.state(), State::Expunged),
            "swap_locked on an expunged entry"
        );
        self.try_swap(new)
    }

    /// Go's `tryLoadOrStore`. The offered value is moved to the heap only once the entry is
    /// found deleted, so loading a present key allocates nothing.
    pub(crate) fn try_load_or_store(&self, mut new: Incoming<V, R>) -> LoadOrStore<V, R> {
        let mut p = self.value.load(Acquire);
        loop {
            match State::decode(p) {
                State::Present(present) => return LoadOrStore::Loaded(present, new),
                State::Expunged => return LoadOrStore::Expunged(new),
                State::Reserved => return LoadOrStore::Reserved(new),
                State::Deleted => {}
            }
            let owned = new.owned();
            match self
                .value
                .compare_exchange_weak(p, owned.as_ptr(), AcqRel, Acquire)
            {
                Ok(_) => return LoadOrStore::Stored(owned.into_raw()),
                Err(current) => {
                    new = Incoming::Owned(owned);
                    p = current;
                }
            }
        }
    }

    /// Deleted → reserved, or reports why not. Expunged entries need the lock (unexpunge first).
    pub(crate) fn try_reserve(&self) -> Reserve<V> {
        let mut p = self.value.load(Acquire);
        loop {
            match State::decode(p) {
                State::Present(present) => return Reserve::Loaded(present),
                State::Expunged => return Reserve::Expunged,
                State::Reserved => return Reserve::Busy,
                State::Deleted => {}
            }
            match self
                .value
                .compare_exchange_weak(p, reserved::<V>(), AcqRel, Acquire)
            {
                Ok(_) => return Reserve::Reserved,
                Err(current) => p = current,
            }
        }
    }

    /// Whether a thread holds a reservation on this entry.
    #[inline]
    pub(crate) fn is_reserved(&self) -> bool {
        matches!(self.state(), State::Reserved)
    }

    /// Reserved → present: the reserving thread publishes its computed value.
    pub(crate) fn publish_reserved(&self, value: Owned<V, R>) -> NonNull<V> {
        let value = value.into_raw();
        let prev = self.value.swap(value.as_ptr(), AcqRel);
        debug_assert_eq!(
            prev,
            reserved::<V>(),
            "only the reserving thread leaves reserved"
        );
        value
    }

    /// Reserved → deleted: the reserving thread ends its reservation without a value (its
    /// closure failed, or the entry was unlinked while it ran). Returns [`Ended::Orphaned`] if
    /// the entry had already been reclaimed in all but memory, in which case the caller now owns
    /// it and must free it ([`Entry::free`]).
    ///
    /// No guard is needed: while the slot is *reserved* nobody frees the entry (see *Reservations
    /// hold no guard* above).
    pub(crate) fn end_reserved(&self) -> Ended {
        let prev = self.value.swap(core::ptr::null_mut(), AcqRel);
        if prev == orphaned::<V>() {
            return Ended::Orphaned;
        }
        debug_assert_eq!(
            prev,
            reserved::<V>(),
            "only the reserving thread leaves reserved"
        );
        Ended::Deleted
    }

    /// The reclaimer's half of the hand-over: reserved → orphaned. True if the entry was
    /// reserved, in which case the reserving thread now frees it, and the caller must not.
    ///
    /// A plain load first: almost every reclaimed entry is not reserved, and a failed
    /// compare-and-swap would cost a locked instruction per entry of a cleared map.
    #[inline]
    pub(super) fn hand_over_reserved(&self) -> bool {
        self.value.load(Acquire) == reserved::<V>()
            && self
                .value
                .compare_exchange(reserved::<V>(), orphaned::<V>(), AcqRel, Acquire)
                .is_ok()
    }

    /// Go's `tryCompareAndSwap`: replaces the present value with `new` if it equals `old`.
    /// Returns the replaced value (the caller's to retire); `new` is allocated only once a
    /// comparison succeeded, and freed if the swap does not happen.
    ///
    /// # Safety
    ///
    /// The caller holds a guard under which this entry's values stay valid.
    pub(crate) unsafe fn try_compare_and_swap(&self, old: &V, new: V) -> Option<NonNull<V>>
    where
        V: PartialEq,
    {
        let mut new = Some(new);
        let mut owned: Option<Owned<V, R>> = None;
        let mut p = self.value.load(Acquire);
        loop {
            let State::Present(present) = State::decode(p) else {
                return None;
            };
            // SAFETY: `present` was read under the caller's guard.
            if unsafe { present.as_ref() } != old {
                return None;
            }
            let boxed =
                owned.get_or_insert_with(|| Owned::new(new.take().expect("allocated once")));
            match self
                .value
                .compare_exchange_weak(p, boxed.as_ptr(), AcqRel, Acquire)
            {
                Ok(_) => {
                    if let Some(published) = owned.take() {
                        published.into_raw();
                    }
                    return Some(present);
                }
                Err(current) => p = current,
            }
        }
    }

    /// Replaces the present value with `f(&current)` by CAS, retrying (and calling `f` again)
    /// if another thread changed it meanwhile. Returns the replaced and the stored value, or
    /// `None` if the key is absent. The replaced value is the caller's to retire.
    ///
    /// # Safety
    ///
    /// The caller holds a guard under which this entry's values stay valid.
    pub(crate) unsafe fn try_update(
        &self,
        mut f: impl FnMut(&V) -> V,
    ) -> Option<(NonNull<V>, NonNull<V>)> {
        let mut p = self.value.load(Acquire);
        loop {
            let State::Present(present) = State::decode(p) else {
                return None;
            };
            // SAFETY: `present` was read under the caller's guard.
            let new = Owned::<V, R>::new(f(unsafe { present.as_ref() }));
            match self
                .value
                .compare_exchange(p, new.as_ptr(), AcqRel, Acquire)
            {
                Ok(_) => return Some((present, new.into_raw())),
                Err(current) => p = current,
            }
        }
    }

    /// Go's `entry.delete` (present → deleted) when `matches` accepts the value (always, for a
    /// plain delete; `old == value` for compare-and-delete). Returns the removed value, now the
    /// caller's to retire.
    ///
    /// # Safety
    ///
    /// The caller holds a guard under which this entry's values stay valid.
    #[inline]
    pub(crate) unsafe fn delete_if(&self, matches: impl Fn(&V) -> bool) -> Option<NonNull<V>> {
        let mut p = self.value.load(Acquire);
        loop {
            let State::Present(present) = State::decode(p) else {
                return None;
            };
            // SAFETY: `present` was read under the caller's guard.
            if !matches(unsafe { present.as_ref() }) {
                return None;
            }
            match self
                .value
                .compare_exchange_weak(p, core::ptr::null_mut(), AcqRel, Acquire)
            {
                Ok(_) => return Some(present),
                Err(current) => p = current,
            }
        }
    }

    /// Deletes the value only if it is still exactly `seen` (pointer identity): present →
    /// deleted. True if it did; `seen` is then the caller's to retire.
    pub(crate) fn delete_exact(&self, seen: NonNull<V>) -> bool {
        self.value
            .compare_exchange(seen.as_ptr(), core::ptr::null_mut(), AcqRel, Acquire)
            .is_ok()
    }

    /// Go's `unexpungeLocked`: expunged → deleted. True if the entry was expunged, in which case
    /// the caller must link it into dirty before unlocking.
    pub(crate) fn unexpunge_locked(&self, _locked: &Locked<'_>) -> bool {
        self.value
            .compare_exchange(expunged::<V>(), core::ptr::null_mut(), AcqRel, Acquire)
            .is_ok()
    }

    /// Go's `tryExpungeLocked`: deleted → expunged while dirty is being rebuilt. True if the
    /// entry is (now) expunged and must be left out of dirty.
    pub(crate) fn try_expunge_locked(&self, _locked: &Locked<'_>) -> bool {
        let mut p = self.value.load(Acquire);
        loop {
            match State::decode(p) {
                State::Deleted => {}
                State::Expunged => {
                    // Entries are expunged only while building dirty from read, and read never
                    // holds an expunged entry at that point (it was promoted from a dirty
                    // table, which never does).
                    debug_assert!(false, "read held an expunged entry at rebuild");
                    return true;
                }
                State::Present(_) | State::Reserved => return false,
            }
            match self.value.compare_exchange_weak(
                core::ptr::null_mut(),
                expunged::<V>(),
                AcqRel,
                Acquire,
            ) {
                Ok(_) => return true,
                Err(current) => p = current,
            }
        }
    }
}

/// A pointer to a live [`Entry`], as both tables store it.
///
/// Invariant: the entry is alive while it is linked from the published read table or from the
/// dirty table, and, after being unlinked and retired, while any guard that was active before the
/// retirement lives.
pub(crate) struct EntryPtr<K, V, R: Reclaim>(pub(super) NonNull<Entry<K, V, R>>);

impl<K, V, R: Reclaim> Clone for EntryPtr<K, V, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V, R: Reclaim> Copy for EntryPtr<K, V, R> {}

// SAFETY: sharing an `EntryPtr` between threads lets them reach `&Entry` (through the unsafe
// `get`, under its contract), which reads the key (`K: Sync`) and reads or replaces values that
// other threads then drop or read (`V: Send + Sync`).
unsafe impl<K: Sync, V: Send + Sync, R: Reclaim> Sync for EntryPtr<K, V, R> {}

impl<K, V, R: Reclaim> EntryPtr<K, V, R> {
    /// Borrows the entry.
    ///
    /// # Safety
    ///
    /// The entry must stay alive for `'a`: it was read from a table under a guard that lives for
    /// `'a`, or the dirty lock (or exclusive access to the map) is held for `'a`.
    #[inline]
    pub(crate) unsafe fn get<'a>(self) -> &'a Entry<K, V, R> {
        // SAFETY: the caller's contract.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    pub(crate) fn as_non_null(self) -> NonNull<Entry<K, V, R>> {
        self.0
    }
}

// An entry's memory: allocation, the inline slot, freeing and reclamation.

/// The allocation of an entry whose values may live inline (`Entry::INLINE`): the entry, then
/// room for its key's first value. `repr(C)` puts the entry at offset 0, so a pointer to the
/// whole is a pointer to the entry.
///
/// An entry made for a new key keeps that key's first value here, and its slot points into its
/// own allocation, so a reader finds key and value in one allocation (one cache miss fewer) and
/// a new key costs one allocation, not two. Such a pointer is never retired or freed on its own:
/// when it is replaced or deleted, the bytes are simply dead (there is nothing to drop) until
/// the entry is freed, and the entry is freed only through `R` after every guard that could
/// have read it. The slot never points here again once it has left.
/// [`is_inline`](Entry::is_inline) tells the two kinds of pointer apart.
#[repr(C)]
struct WithSlot<K, V, R: Reclaim> {
    entry: Entry<K, V, R>,
    /// Initialized iff the entry was made with an inline value; never dropped (`V` has no drop
    /// glue when this type is used).
    slot: core::mem::MaybeUninit<V>,
}

/// The largest value kept inline: four words. A replaced inline value leaves its bytes unused
/// until the entry is freed, so larger values go to the heap as before.
const INLINE_MAX: usize = 4 * core::mem::size_of::<usize>();

impl<K, V, R: Reclaim> Entry<K, V, R> {
    /// Whether entries are allocated with an inline slot for the first value ([`WithSlot`]):
    /// values are boxed (their handles borrow), small, and need no `Drop`.
    pub(crate) const INLINE: bool = <R::Stored<V> as StoredPtr<V>>::UNIQUE
        && !core::mem::needs_drop::<V>()
        && core::mem::size_of::<V>() <= INLINE_MAX;

    /// The layout an entry is allocated with: a [`WithSlot`] if values may live inline
    /// ([`INLINE`](Self::INLINE)), the plain entry otherwise.
    pub(crate) const LAYOUT: Layout = if Self::INLINE {
        Layout::new::<WithSlot<K, V, R>>()
    } else {
        Layout::new::<Entry<K, V, R>>()
    };

    /// Whether entries of this type can come from an arena ([`arena::fits`]).
    pub(crate) const IN_ARENA: bool = arena::fits(Self::LAYOUT);

    /// A new entry holding `value` (inline if [`INLINE`](Self::INLINE) and not yet on the
    /// heap), in a slot of `arena` if given, on the heap otherwise.
    pub(crate) fn boxed(
        hash: u64,
        key: K,
        value: Incoming<V, R>,
        arena: Option<&mut Arena>,
    ) -> EntryPtr<K, V, R> {
        match value {
            Incoming::Value(value) if Self::INLINE => Self::allocate(hash, key, Ok(value), arena),
            value => Self::allocate(hash, key, Err(value.owned().into_raw().as_ptr()), arena),
        }
    }

    /// Allocates an entry whose slot holds `value`: `Ok` a value to keep inline (only when
    /// `INLINE`), `Err` a pointer (a value from [`alloc`](super::value::alloc), or a sentinel).
    /// In a slot of `arena` if given (which then holds slots of [`LAYOUT`](Self::LAYOUT)), and
    /// then tagged so in its cached hash ([`ARENA_TAG`]); on the heap otherwise.
    pub(super) fn allocate(
        hash: u64,
        key: K,
        value: Result<V, *mut V>,
        arena: Option<&mut Arena>,
    ) -> EntryPtr<K, V, R> {
        let (raw, hash) = match arena {
            Some(arena) if Self::IN_ARENA => (arena.alloc(), hash | ARENA_TAG),
            _ => {
                // SAFETY: an entry has a nonzero size (it holds a pointer).
                let raw = unsafe { std::alloc::alloc(Self::LAYOUT) };
                let raw = NonNull::new(raw)
                    .unwrap_or_else(|| std::alloc::handle_alloc_error(Self::LAYOUT));
                (raw, hash & !ARENA_TAG)
            }
        };
        let raw = raw.as_ptr();
        let slot = raw
            .wrapping_add(core::mem::offset_of!(WithSlot<K, V, R>, slot))
            .cast::<V>();
        let value = match value {
            Ok(inline) => {
                debug_assert!(Self::INLINE, "inline values only when INLINE");
                // SAFETY: `raw` is a fresh, exclusively owned allocation of `LAYOUT`, which is a
                // `WithSlot` when values are inline: the slot is in bounds and aligned. The
                // pointer stored below derives from `raw`, so it may read the slot for the
                // allocation's whole life.
                unsafe { slot.write(inline) };
                slot
            }
            Err(ptr) => ptr,
        };
        // SAFETY: `raw` is fresh and exclusively ours, sized and aligned for an entry at offset
        // 0 (`WithSlot` is `repr(C)`, entry first).
        unsafe {
            raw.cast::<Entry<K, V, R>>().write(Entry {
                hash,
                key,
                value: AtomicPtr::new(value),
                _reclaim: PhantomData,
            });
        }
        EntryPtr(NonNull::new(raw.cast::<Entry<K, V, R>>()).expect("allocations are non-null"))
    }

    /// Whether `value` (read from this entry's slot) is the inline first value, which lives and
    /// dies with the entry, rather than a pointer from [`alloc`](super::value::alloc).
    #[inline]
    pub(crate) fn is_inline(&self, value: NonNull<V>) -> bool {
        Self::INLINE
            && value.as_ptr().addr()
                == (self as *const Self).addr() + core::mem::offset_of!(WithSlot<K, V, R>, slot)
    }

    /// Retires a value that was just replaced or deleted from this entry, unless it is the
    /// inline value, which lives and dies with the entry.
    ///
    /// The caller unlinked `value` from this entry with a successful CAS or swap, under
    /// `guard`, which came from `reclaim.pin()`.
    #[inline]
    pub(crate) fn retire_removed(&self, reclaim: &R, guard: &R::Guard<'_>, value: NonNull<V>) {
        if self.is_inline(value) {
            return;
        }
        // SAFETY: the caller just unlinked `value` with a successful CAS or swap, so no thread
        // pinning from now on can read it, and only this thread retires it; it came from
        // `alloc`, as `RetiredValue` expects.
        unsafe { reclaim.retire(guard, value.cast::<RetiredValue<V, R>>()) }
    }

    /// Frees an entry allocated by [`allocate`](Self::allocate), dropping its present value
    /// (unless that is inline) and then its key: a batch of one ([`free_batch`](Self::free_batch)).
    /// The key is dropped even if the value's `Drop` panics, and the memory released either way;
    /// the first panic then resumes (see [`DropAll`]).
    ///
    /// # Safety
    ///
    /// `ptr` came from `allocate`, is unreachable, and is freed once.
    pub(crate) unsafe fn free(ptr: NonNull<Self>) {
        let mut drops = DropAll::new();
        // SAFETY: the caller's contract, for a batch of one.
        unsafe { Self::free_batch([ptr], false, &mut drops) };
        drops.finish();
    }

    /// Frees many entries, as [`free`](Self::free) each; if `reclaiming` (a retired table's
    /// entries), an entry still reserved is handed over instead (see the type's docs), with every `Drop`
    /// run even if one panics (the first panic is left in `drops`). Arena slots go back a few
    /// dozen per hold of their pool's lock, and each entry's memory (then its value's) is
    /// fetched a few entries ahead, so that a large batch (a map's drop, a `clear`'s
    /// reclamation) does not wait out a cache miss per entry. Allocates nothing: it runs inside
    /// the strategy's reclamation, which a load may trigger.
    ///
    /// # Safety
    ///
    /// As for `free` (or `reclaim`), for each entry; all come from one map.
    pub(crate) unsafe fn free_batch(
        entries: impl IntoIterator<Item = NonNull<Self>>,
        reclaiming: bool,
        drops: &mut DropAll,
    ) {
        /// Entries in flight: fetched, not yet freed (a power of two).
        const AHEAD: usize = 16;
        /// Arena slots returned per hold of the pool's lock.
        const SLOTS: usize = 64;
        // Neither array is initialised up front: a batch of one entry (a small map's `clear`)
        // costs no more than freeing that entry.
        let mut ahead = [const { MaybeUninit::<NonNull<Self>>::uninit() }; AHEAD];
        let mut slots = [const { MaybeUninit::<NonNull<u8>>::uninit() }; SLOTS];
        let mut pending = 0;
        let flush = |slots: &[MaybeUninit<NonNull<u8>>; SLOTS], n: usize| {
            // SAFETY: the first `n` slots were written below; each held an entry freed below
            // (its contents moved out), from this map's arena, listed once.
            unsafe { arena::free_all(slots[..n].iter().map(|s| s.assume_init())) };
        };
        let mut free_one = |ptr: NonNull<Self>, drops: &mut DropAll| {
            // SAFETY: the entry is alive until freed here (caller's contract).
            let entry = unsafe { ptr.as_ref() };
            if reclaiming && entry.hand_over_reserved() {
                // The reserving thread frees it when its reservation ends (`Entry`'s docs).
                return;
            }
            let in_arena = entry.in_arena();
            // An inline value has no drop glue (`INLINE`): it goes with the memory.
            let value = entry.load().filter(|v| !entry.is_inline(*v));
            // SAFETY: the key is read once; the memory is then freed without dropping it.
            let key = unsafe { core::ptr::read(&entry.key) };
            if in_arena {
                slots[pending].write(ptr.cast::<u8>());
                pending += 1;
                if pending == SLOTS {
                    flush(&slots, pending);
                    pending = 0;
                }
            } else {
                // SAFETY: the key was moved out and the value pointer taken; an untagged entry
                // came from `alloc(LAYOUT)`, and is freed once (caller's contract).
                unsafe { std::alloc::dealloc(ptr.as_ptr().cast(), Self::LAYOUT) };
            }
            // SAFETY: not inline, so the slot owned a value from `alloc`, released once here.
            let value = value.map(|value| unsafe { R::Stored::<V>::from_raw(value) });
            drops.run(|| drop(value));
            drops.run(|| drop(key));
        };
        // `ahead[i % AHEAD]` holds the `i`th entry until the `i + AHEAD`th arrives.
        let mut seen = 0;
        for ptr in entries {
            prefetch(ptr.as_ptr());
            if seen >= AHEAD / 2 {
                // The entry fetched `AHEAD / 2` entries ago has arrived: fetch its value.
                // SAFETY: written when it was seen, and alive until freed here.
                let mid = unsafe { ahead[(seen - AHEAD / 2) % AHEAD].assume_init().as_ref() };
                let value = mid.value.load(Relaxed);
                if is_value(value) {
                    prefetch(value);
                }
            }
            if seen >= AHEAD {
                // SAFETY: written `AHEAD` entries ago, and not freed since.
                free_one(unsafe { ahead[seen % AHEAD].assume_init() }, drops);
            }
            ahead[seen % AHEAD].write(ptr);
            seen += 1;
        }
        for i in seen.saturating_sub(AHEAD)..seen {
            // SAFETY: the last `AHEAD` (or fewer) entries seen, written and not freed yet.
            free_one(unsafe { ahead[i % AHEAD].assume_init() }, drops);
        }
        if pending > 0 {
            flush(&slots, pending);
        }
    }

    /// Takes an unreachable entry apart: its key, and its present value as the strategy gives
    /// it back ([`StoredPtr::Owned`]).
    ///
    /// # Safety
    ///
    /// `ptr` is unlinked from every table, no thread can reach it, and it is not reclaimed.
    pub(crate) unsafe fn into_parts(ptr: EntryPtr<K, V, R>) -> (K, Option<crate::Owned<V, R>>) {
        // SAFETY: the caller gives us the only access to a live entry.
        let entry = unsafe { ptr.get() };
        // SAFETY: the key is read once; the entry's memory is then freed without dropping it.
        let key = unsafe { core::ptr::read(&entry.key) };
        let taken = entry.value.swap(core::ptr::null_mut(), Acquire);
        let value = State::decode(taken).present().map(|value| {
            if entry.is_inline(value) {
                // SAFETY: the inline value is initialized, read once (the slot is emptied above
                // and never dropped), through the pointer made for it at allocation.
                R::Stored::<V>::owned(unsafe { core::ptr::read(value.as_ptr()) })
            } else {
                // SAFETY: the slot owned its present value, which came from `alloc`.
                unsafe { R::Stored::<V>::from_raw(value) }.into_owned()
            }
        });
        // SAFETY: the key was moved out and the value taken, so the memory goes without
        // dropping anything in it.
        unsafe { Self::dealloc_only(ptr.as_non_null()) };
        (key, value)
    }

    /// Frees an entry's memory without dropping anything in it: its arena slot, or its heap
    /// allocation.
    ///
    /// # Safety
    ///
    /// As for [`free`](Self::free), and the caller has moved out (or dropped) what it needed.
    unsafe fn dealloc_only(ptr: NonNull<Self>) {
        // SAFETY: the entry is still allocated (the caller's contract); its hash is plain data.
        let in_arena = unsafe { ptr.as_ref() }.in_arena();
        if in_arena {
            // SAFETY: a tagged entry came from `Arena::alloc`, and is freed once (caller).
            unsafe { arena::free(ptr.cast()) }
        } else {
            // SAFETY: an untagged entry came from `alloc(LAYOUT)` in `allocate`.
            unsafe { std::alloc::dealloc(ptr.as_ptr().cast(), Self::LAYOUT) }
        }
    }

    /// Whether the entry lives in an arena chunk (its hash carries [`ARENA_TAG`]).
    #[inline]
    pub(crate) fn in_arena(&self) -> bool {
        self.hash & ARENA_TAG != 0
    }
}

/// Asks the CPU to start loading the cache line at `p` (a hint: no effect on what the program
/// does, and none on targets without one).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program can observe and never faults.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl<K, V, R: Reclaim> Drop for Entry<K, V, R> {
    fn drop(&mut self) {
        // An entry is dropped once unreachable, so its slot is ours alone; an inline value has
        // no drop glue and goes with the memory.
        if let Some(value) = self.load().filter(|v| !self.is_inline(*v)) {
            // SAFETY: not inline, so the slot owns a value from `alloc`, and the entry is
            // unreachable, so nothing else uses it.
            unsafe { dealloc::<R, V>(value) }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::reclaim::DeferToDrop;

    type E = Entry<&'static str, String, DeferToDrop>;

    fn owned(s: &str) -> Owned<String, DeferToDrop> {
        Owned::new(s.to_string())
    }

    /// Frees a value the test took ownership of.
    fn free(p: NonNull<String>) -> String {
        // SAFETY: `p` was unlinked from the entry by the operation under test, and the test is
        // single-threaded, so it is ours alone.
        *unsafe { Box::from_raw(p.as_ptr()) }
    }

    fn value(e: &E) -> Option<String> {
        // SAFETY: single-threaded test; the present value is alive while the entry holds it.
        e.load().map(|p| unsafe { p.as_ref() }.clone())
    }

    fn with_entry(test: impl FnOnce(&E, &Locked<'_>)) {
        let ptr = Entry::boxed(7, "k", Incoming::Owned(owned("a")), None);
        // SAFETY: no other thread exists; the test stands in for the lock holder.
        let locked = unsafe { Locked::new() };
        // SAFETY: the entry stays alive until reclaimed below.
        test(unsafe { ptr.get() }, &locked);
        // SAFETY: created above, unlinked from everything, reclaimed once.
        unsafe { Entry::free(ptr.as_non_null()) }
    }

    #[test]
    fn sentinels_have_distinct_addresses() {
        assert_ne!(expunged::<String>(), reserved::<String>());
        assert_ne!(expunged::<u8>(), reserved::<u8>());
        assert_ne!(orphaned::<u8>(), reserved::<u8>());
        for p in [
            expunged::<u8>(),
            reserved(),
            orphaned(),
            core::ptr::null_mut(),
        ] {
            assert!(!is_value(p), "{p:p} is not a value");
        }
        // Boxed zero-sized values are dangling pointers at their alignment, and are values.
        let zst = Box::into_raw(Box::new(()));
        assert!(is_value(zst) && is_value(Box::into_raw(Box::new([0_u64; 0]))));
        #[repr(align(536870912))]
        struct Huge;
        assert!(is_value(Box::into_raw(Box::new(Huge))));
        assert!(is_value(core::ptr::without_provenance_mut::<u8>(4)));
    }

    #[test]
    fn present_to_present_by_swap() {
        with_entry(|e, locked| {
            let previous = e.try_swap(owned("b")).ok().flatten().expect("was present");
            assert_eq!(free(previous), "a");
            assert_eq!(value(e).as_deref(), Some("b"));
            assert!(
                !e.try_expunge_locked(locked),
                "a present entry is never expunged"
            );
        });
    }

    #[test]
    fn present_to_deleted_to_present() {
        with_entry(|e, _| {
            // SAFETY: single-threaded test.
            let removed = unsafe { e.delete_if(|_| true) }.expect("was present");
            assert_eq!(free(removed), "a");
            assert_eq!(value(e), None);
            // SAFETY: single-threaded test.
            let twice = unsafe { e.delete_if(|_| true) };
            assert!(twice.is_none(), "deleting twice removes nothing");
            // deleted → present without the lock
            assert!(matches!(e.try_swap(owned("c")), Ok(None)));
            assert_eq!(value(e).as_deref(), Some("c"));
        });
    }

    #[test]
    fn expunged_entries_refuse_lock_free_writes() {
        with_entry(|e, locked| {
            // SAFETY: single-threaded test.
            free(unsafe { e.delete_if(|_| true) }.unwrap());
            assert!(e.try_expunge_locked(locked));
            assert!(e.is_expunged(locked));
            assert_eq!(value(e), None);
            let back = e.try_swap(owned("x")).expect_err("expunged refuses swap");
            drop(back);
            assert!(matches!(
                e.try_load_or_store(Incoming::Owned(owned("y"))),
                LoadOrStore::Expunged(_)
            ));
            // SAFETY: single-threaded test.
            assert!(unsafe { e.delete_if(|_| true) }.is_none());
            // SAFETY: single-threaded test.
            assert!(unsafe { e.try_compare_and_swap(&String::new(), "z".into()) }.is_none());
            assert!(e.is_expunged(locked), "still expunged after refused writes");
            // expunged → deleted, only under the lock, exactly once
            assert!(e.unexpunge_locked(locked));
            assert!(!e.unexpunge_locked(locked));
            assert!(!e.is_expunged(locked));
            assert!(matches!(e.swap_locked(owned("d"), locked), Ok(None)));
            assert_eq!(value(e).as_deref(), Some("d"));
        });
    }

    #[test]
    fn load_or_store_and_compare_ops() {
        with_entry(|e, _| {
            match e.try_load_or_store(Incoming::Value("b".to_string())) {
                LoadOrStore::Loaded(p, unused) => {
                    // SAFETY: single-threaded test.
                    assert_eq!(unsafe { p.as_ref() }, "a");
                    drop(unused);
                }
                _ => panic!("a present entry loads"),
            }
            // SAFETY: single-threaded test.
            assert!(unsafe { e.try_compare_and_swap(&"zz".to_string(), "b".into()) }.is_none());
            // SAFETY: single-threaded test.
            let old = unsafe { e.try_compare_and_swap(&"a".to_string(), "b".into()) }.unwrap();
            assert_eq!(free(old), "a");
            // SAFETY: single-threaded test.
            assert!(unsafe { e.delete_if(|v| v == "a") }.is_none());
            // SAFETY: single-threaded test.
            let removed = unsafe { e.delete_if(|v| v == "b") }.unwrap();
            assert_eq!(free(removed), "b");
            match e.try_load_or_store(Incoming::Value("c".to_string())) {
                LoadOrStore::Stored(p) => {
                    // SAFETY: single-threaded test; the entry owns `p`.
                    assert_eq!(unsafe { p.as_ref() }, "c")
                }
                _ => panic!("a deleted entry stores"),
            }
        });
    }
}
