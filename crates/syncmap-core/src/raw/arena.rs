//! The entry arena: entries of a large map come from chunks the map owns, not from one `malloc`
//! each.
//!
//! New entries are only made under the dirty lock, so the allocating side, [`Arena`], lives in
//! [`Dirty`](super::dirty::Dirty) and needs no atomics: it takes slots from a chunk's free list
//! or bumps through a fresh chunk. Entries are freed on any thread, at any time (by the
//! strategy, after every reader that could see them is gone; crossbeam-epoch's collector may do
//! it after the map itself was dropped), so a chunk's bookkeeping lives in its [`Pool`], behind a
//! mutex that frees take briefly, and the pool outlives the map until its last chunk is gone.
//!
//! Memory follows the live set: a chunk whose slots are all free is given back to the allocator
//! at once (but one, kept as a spare so that a map that shrinks and grows around a chunk
//! boundary does not allocate and free it over and over). A chunk with one live entry stays,
//! with its other slots on a free list that the next new keys use first, the same trade-off as
//! any slab (and as `malloc`'s own bins). Small maps (fewer than [`ARENA_MIN_ENTRIES`] entries
//! in dirty) keep allocating entries one by one: a chunk is [`CHUNK_BYTES`].
//!
//! A chunk is a [`CHUNK_BYTES`]-aligned block: a [`Header`], then slots. The header of any slot
//! is its address rounded down, so freeing needs no lookup. Which entries came from a chunk is
//! told by a bit of their cached hash ([`ARENA_TAG`], see there).

use core::{alloc::Layout, cell::UnsafeCell, ptr::NonNull};

use crate::primitive::sync::{Mutex, MutexGuard};

/// Bytes of a chunk, and its alignment: 4 KiB, 126 entries of a `u64 -> u64` map. A chunk is
/// held as long as one of its entries lives, so this is also what a scattered survivor can
/// cost: with 16 KiB chunks, keeping every 1,000th key of a million held 16.5 bytes per
/// original entry, with 4 KiB 4.2 (the memory bench), for 2-3% more instructions per new key
/// and a map's drop 65 -> 85 ms at 2M keys (more chunk headers to visit). Small under loom, so
/// that models reach slot reuse and chunk release with a handful of entries.
pub(crate) const CHUNK_BYTES: usize = if cfg!(loom) { 128 } else { 4 * 1024 };

/// The fewest slots a chunk must hold for a layout to use an arena ([`fits`]).
const MIN_SLOTS: usize = if cfg!(loom) { 2 } else { 8 };

/// Dirty holds at least this many entries before new ones come from the arena: none under
/// loom (every model uses it), never with `--cfg syncmap_no_arena`, which `cargo xtask asan`
/// sets so that AddressSanitizer sees each entry's lifetime as an allocation of its own (a
/// use of a freed entry inside a live chunk would go unseen).
pub(crate) const ARENA_MIN_ENTRIES: usize = if cfg!(loom) {
    0
} else if cfg!(syncmap_no_arena) {
    usize::MAX
} else {
    256
};

/// The bit of an entry's cached hash that says the entry is in an arena chunk. The hash is only
/// ever used by the tables, whose buckets are chosen by its low bits (fewer than 48: a table of
/// 2^48 buckets cannot be allocated) and whose control bytes hold its top 7 bits, and by no
/// comparison (`Entry::matches` compares keys), so bit 48 is free to carry this.
pub(crate) const ARENA_TAG: u64 = 1 << 48;

/// A free slot's first word: the next free slot of its chunk.
struct FreeSlot {
    next: Option<NonNull<FreeSlot>>,
}

/// A chunk's bookkeeping, changed only under its pool's lock (see [`Header::state`]).
struct ChunkState {
    /// Slots in use: entries not freed yet, and slots the allocator has taken (its bump range
    /// and its free list, see [`Arena`]). Zero means every slot is free and nothing can touch the
    /// chunk but its pool.
    live: usize,
    /// Freed slots, not yet taken by the allocator.
    free: Option<NonNull<FreeSlot>>,
    free_count: usize,
    /// The chunk's index in `PoolState::partial`, if it is listed there.
    listed: Option<usize>,
}

/// The start of every chunk.
///
/// # Invariants
///
/// * `pool` points to the pool that allocated the chunk, alive while the chunk is (the pool
///   counts its chunks, `PoolState::chunks`).
/// * `state` is only accessed under `pool`'s lock.
#[repr(C, align(64))]
struct Header {
    pool: NonNull<Pool>,
    state: UnsafeCell<ChunkState>,
}

impl Header {
    /// The chunk's bookkeeping, for the holder of its pool's lock: `pool` is that lock's
    /// contents, which proves it is held, and lends the state for as long as it is borrowed.
    #[allow(clippy::mut_from_ref)]
    fn state<'a>(&'a self, pool: &'a mut PoolState) -> &'a mut ChunkState {
        let _ = pool;
        // SAFETY: `state` is only accessed under the pool's lock (type invariant), which the
        // caller holds for as long as the result is borrowed (it borrows the lock's contents
        // mutably), so this is the only reference.
        unsafe { &mut *self.state.get() }
    }
}

/// What the pool's lock guards.
struct PoolState {
    /// Chunks with free slots that the allocator may take, none of them the spare.
    partial: Vec<NonNull<Header>>,
    /// An empty chunk kept for the next refill.
    spare: Option<NonNull<Header>>,
    /// Chunks allocated and not yet released, the spare included.
    chunks: usize,
    /// Whether the allocator is gone (the map was dropped): freed slots are then only counted,
    /// and the pool frees itself with its last chunk.
    closed: bool,
}

/// The shared half of an arena: what frees reach through a chunk's header.
///
/// # Invariants
///
/// * A pool is a leaked `Box`, freed by whoever sees it closed with no chunk left, under its
///   lock, once that lock is released ([`release`](Pool::release)).
/// * Every chunk it lists is one of its own, alive.
struct Pool {
    state: Mutex<PoolState>,
}

/// Where a chunk's slots are: the first at `first` bytes, `count` of them, `size` apart.
#[derive(Clone, Copy)]
struct Geometry {
    first: usize,
    size: usize,
    count: usize,
}

impl Geometry {
    const fn of(layout: Layout) -> Geometry {
        let align = layout.align();
        let first = core::mem::size_of::<Header>().next_multiple_of(align);
        let size = layout.size();
        Geometry {
            first,
            size,
            count: if size == 0 || first > CHUNK_BYTES {
                0
            } else {
                (CHUNK_BYTES - first) / size
            },
        }
    }

    fn slot(self, chunk: NonNull<Header>, i: usize) -> NonNull<u8> {
        debug_assert!(i < self.count);
        // SAFETY: slot `i < count` lies inside the chunk's allocation (`of`).
        unsafe { chunk.cast::<u8>().add(self.first + i * self.size) }
    }
}

fn chunk_layout() -> Layout {
    Layout::from_size_align(CHUNK_BYTES, CHUNK_BYTES).expect("a power of two below isize::MAX")
}

/// The header of the chunk `slot` lies in.
fn header_of(slot: NonNull<u8>) -> NonNull<Header> {
    slot.map_addr(|a| {
        core::num::NonZeroUsize::new(a.get() & !(CHUNK_BYTES - 1))
            .expect("a chunk is never at address 0")
    })
    .cast()
}

/// What a free or a close leaves for the caller to deallocate once the lock is released.
#[derive(Default)]
struct Released {
    chunks: Vec<NonNull<Header>>,
    pool: Option<NonNull<Pool>>,
}

impl Released {
    fn dealloc(self) {
        for chunk in self.chunks {
            // SAFETY: released chunks were allocated with `chunk_layout` and are unreachable:
            // every slot was free and the pool no longer lists them.
            unsafe { std::alloc::dealloc(chunk.as_ptr().cast(), chunk_layout()) };
        }
        if let Some(pool) = self.pool {
            // SAFETY: the pool is closed with no chunk left, so no header points at it, and
            // the map's arena is gone: this is the last use (`Pool`'s invariants).
            drop(unsafe { Box::from_raw(pool.as_ptr()) });
        }
    }
}

impl Pool {
    /// Takes `chunk` off the pool (every slot is free), or keeps it as the spare.
    fn release(state: &mut PoolState, chunk: NonNull<Header>, out: &mut Released) {
        // SAFETY: listed chunks are alive (invariant); `chunk` is one of ours, alive.
        let header = unsafe { chunk.as_ref() };
        if let Some(i) = header.state(state).listed.take() {
            state.partial.swap_remove(i);
            if let Some(&moved) = state.partial.get(i) {
                // SAFETY: as above.
                unsafe { moved.as_ref() }.state(state).listed = Some(i);
            }
        }
        if !state.closed && state.spare.is_none() {
            let s = header.state(state);
            s.free = None;
            s.free_count = 0;
            state.spare = Some(chunk);
            return;
        }
        state.chunks -= 1;
        out.chunks.push(chunk);
    }

    /// Marks a slot free, under the lock; a chunk left empty is released into `out`.
    fn put(state: &mut PoolState, slot: NonNull<u8>, out: &mut Released) {
        let chunk = header_of(slot);
        // SAFETY: the slot came from one of this pool's chunks, alive while it has a live slot.
        let header = unsafe { chunk.as_ref() };
        let closed = state.closed;
        let s = header.state(state);
        s.live -= 1;
        if s.live == 0 {
            Self::release(state, chunk, out);
            return;
        }
        if closed {
            // Nobody allocates any more: the slot need not be listed.
            return;
        }
        let free = slot.cast::<FreeSlot>();
        // SAFETY: the slot is free, ours alone, and large and aligned enough for a pointer
        // (`Arena::new` checks); its memory holds nothing now.
        unsafe { free.write(FreeSlot { next: s.free }) };
        s.free = Some(free);
        s.free_count += 1;
        if s.listed.is_none() {
            let i = state.partial.len();
            header.state(state).listed = Some(i);
            state.partial.push(chunk);
        }
    }
}

/// Frees a slot of an arena chunk, on any thread. What was in it has been dropped or moved out.
///
/// # Safety
///
/// `slot` came from [`Arena::alloc`], is freed once, and nothing uses it any more.
pub(crate) unsafe fn free(slot: NonNull<u8>) {
    // SAFETY: the caller's contract.
    unsafe { free_all(core::iter::once(slot)) }
}

/// Frees slots of arena chunks, on any thread, holding each pool's lock once per run of slots
/// from it (a map has a pool per shard; the slots of one retired table all come from one).
///
/// # Safety
///
/// As for [`free`], for each slot.
pub(crate) unsafe fn free_all(slots: impl IntoIterator<Item = NonNull<u8>>) {
    let mut slots = slots.into_iter().peekable();
    while let Some(&first) = slots.peek() {
        // SAFETY: a live slot's chunk is alive, and its header's `pool` is alive while it is
        // (`Header`'s invariants).
        let pool = unsafe { header_of(first).as_ref() }.pool;
        let mut out = Released::default();
        {
            // SAFETY: as above.
            let mut state: MutexGuard<'_, PoolState> = unsafe { pool.as_ref() }.state.lock();
            // The run of slots from this pool; the lock is held only for its own slots.
            while let Some(slot) = slots.next_if(|&slot| {
                // SAFETY: as above: the slot is live, so its chunk and header are alive.
                let header = unsafe { header_of(slot).as_ref() };
                header.pool == pool
            }) {
                Pool::put(&mut state, slot, &mut out);
            }
            if state.closed && state.chunks == 0 {
                out.pool = Some(pool);
            }
        }
        out.dealloc();
    }
}

/// The allocating side of an arena of slots of one layout, owned by dirty (so used under the
/// lock).
///
/// # Invariants
///
/// * Slots `bump..` of `current` (to the chunk's last), and the slots on `local` (all of chunk
///   `local_chunk`), are taken: counted in their chunk's `live`, handed out by nobody else.
///   `current` and
///   `local_chunk` are `None` once they have nothing left to hand out (the chunk may then be
///   released by frees at any time).
/// * `pool`, once made, is ours until [`close`](Self::close)d.
pub(crate) struct Arena {
    geometry: Geometry,
    pool: Option<NonNull<Pool>>,
    current: Option<NonNull<Header>>,
    bump: usize,
    local: Option<NonNull<FreeSlot>>,
    local_count: usize,
    local_chunk: Option<NonNull<Header>>,
}

// SAFETY: an arena hands out raw memory and owns nothing else but its pool, which is `Sync` (a
// mutex) and whose chunks it reaches only under that mutex or through the slots it owns; moving
// it to another thread (with the map) moves nothing thread-bound.
unsafe impl Send for Arena {}

/// Whether slots of `layout` fit an arena at all: [`MIN_SLOTS`] a chunk, each large and aligned
/// enough for a free-list link, aligned no more than a header. Other layouts are always
/// allocated one by one.
pub(crate) const fn fits(layout: Layout) -> bool {
    Geometry::of(layout).count >= MIN_SLOTS
        && layout.size() >= core::mem::size_of::<FreeSlot>()
        && layout.align() >= core::mem::align_of::<FreeSlot>()
        && layout.align() <= core::mem::align_of::<Header>()
}

impl Arena {
    /// An arena of slots of `layout`, which [`fits`].
    pub(crate) const fn new(layout: Layout) -> Self {
        Arena {
            geometry: Geometry::of(layout),
            pool: None,
            current: None,
            bump: 0,
            local: None,
            local_count: 0,
            local_chunk: None,
        }
    }

    /// An uninitialised slot of the arena's layout, to be freed with [`free`] (on any thread).
    #[inline]
    pub(crate) fn alloc(&mut self) -> NonNull<u8> {
        if self.local.is_none() && self.current.is_none() {
            self.refill();
        }
        if let Some(slot) = self.local {
            // SAFETY: slots on `local` are free and ours (invariant), and hold a link.
            self.local = unsafe { slot.as_ref() }.next;
            self.local_count -= 1;
            if self.local_count == 0 {
                self.local_chunk = None;
            }
            return slot.cast();
        }
        let chunk = self.current.expect("a refill leaves a bump range");
        let slot = self.geometry.slot(chunk, self.bump);
        self.bump += 1;
        if self.bump == self.geometry.count {
            self.current = None;
        }
        slot
    }

    /// Takes the free slots of a listed chunk, or a fresh (or the spare) chunk to bump through.
    #[cold]
    fn refill(&mut self) {
        debug_assert!(self.local.is_none() && self.current.is_none());
        let pool = *self.pool.get_or_insert_with(|| {
            NonNull::from(Box::leak(Box::new(Pool {
                state: Mutex::new(PoolState {
                    partial: Vec::new(),
                    spare: None,
                    chunks: 0,
                    closed: false,
                }),
            })))
        });
        // SAFETY: our pool is alive until we close it (invariant).
        let mut state = unsafe { pool.as_ref() }.state.lock();
        if let Some(chunk) = state.partial.pop() {
            // SAFETY: listed chunks are alive (`Pool`'s invariants).
            let s = unsafe { chunk.as_ref() }.state(&mut state);
            s.listed = None;
            self.local = s.free.take();
            self.local_count = core::mem::take(&mut s.free_count);
            s.live += self.local_count;
            self.local_chunk = Some(chunk);
            return;
        }
        let chunk = match state.spare.take() {
            Some(chunk) => chunk,
            None => {
                // SAFETY: the layout has a nonzero size.
                let raw = unsafe { std::alloc::alloc(chunk_layout()) };
                let Some(raw) = NonNull::new(raw) else {
                    std::alloc::handle_alloc_error(chunk_layout())
                };
                let chunk = raw.cast::<Header>();
                // SAFETY: a fresh allocation, aligned for a header, written before any use.
                unsafe {
                    chunk.write(Header {
                        pool,
                        state: UnsafeCell::new(ChunkState {
                            live: 0,
                            free: None,
                            free_count: 0,
                            listed: None,
                        }),
                    });
                }
                state.chunks += 1;
                chunk
            }
        };
        // SAFETY: the chunk is ours (fresh, or the spare, which nothing else reaches).
        unsafe { chunk.as_ref() }.state(&mut state).live = self.geometry.count;
        self.current = Some(chunk);
        self.bump = 0;
    }

    /// Gives back the slots the arena took and did not hand out, and leaves the pool to free
    /// itself with its last chunk: the map is being dropped. Chunks with live slots stay until
    /// those are freed (by the map's drop, or by the strategy later).
    pub(crate) fn close(&mut self) {
        let Some(pool) = self.pool.take() else {
            return;
        };
        let mut out = Released::default();
        {
            // SAFETY: our pool is alive until now (invariant).
            let mut state = unsafe { pool.as_ref() }.state.lock();
            state.closed = true;
            let mut unused = Vec::new();
            if let Some(chunk) = self.current.take() {
                unused.push((chunk, self.geometry.count - self.bump));
            }
            if let Some(chunk) = self.local_chunk.take() {
                unused.push((chunk, self.local_count));
            }
            (self.local, self.local_count, self.bump) = (None, 0, 0);
            for (chunk, n) in unused {
                // SAFETY: chunks we took slots from are alive while we hold them.
                let s = unsafe { chunk.as_ref() }.state(&mut state);
                s.live -= n;
                if s.live == 0 {
                    Pool::release(&mut state, chunk, &mut out);
                }
            }
            if let Some(spare) = state.spare.take() {
                state.chunks -= 1;
                out.chunks.push(spare);
            }
            // Listed chunks have live slots; they are released by the frees to come.
            for chunk in core::mem::take(&mut state.partial) {
                // SAFETY: listed chunks are alive.
                unsafe { chunk.as_ref() }.state(&mut state).listed = None;
            }
            if state.chunks == 0 {
                out.pool = Some(pool);
            }
        }
        out.dealloc();
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::{collections::HashSet, sync::mpsc, thread};

    use super::*;

    /// Slots of four words: an entry of `u64 -> u64` with its value inline.
    type Slot = [u64; 4];
    const LAYOUT: Layout = Layout::new::<Slot>();
    const PER_CHUNK: usize = Geometry::of(LAYOUT).count;

    impl Arena {
        /// Chunks the pool holds now (the spare included), 0 before the first.
        fn chunks(&self) -> usize {
            self.pool.map_or(0, |pool| {
                // SAFETY: our pool is alive until closed.
                unsafe { pool.as_ref() }.state.lock().chunks
            })
        }
    }

    fn addr(p: NonNull<u8>) -> usize {
        p.addr().get()
    }

    #[test]
    fn slots_are_in_their_chunk_and_a_chunk_holds_hundreds() {
        assert!(fits(LAYOUT) && PER_CHUNK > 100, "{PER_CHUNK} slots a chunk");
        assert!(
            !fits(Layout::new::<[u8; 4096]>()),
            "8 slots a chunk at least"
        );
        let mut arena = Arena::new(LAYOUT);
        let slots: Vec<_> = (0..PER_CHUNK).map(|_| arena.alloc()).collect();
        assert_eq!(arena.chunks(), 1);
        let header = header_of(slots[0]);
        for &s in &slots {
            assert_eq!(header_of(s), header);
            assert_eq!(addr(s) % core::mem::align_of::<Slot>(), 0);
            assert!(addr(s) + LAYOUT.size() <= addr(header.cast()) + CHUNK_BYTES);
            assert!(addr(s) >= addr(header.cast()) + core::mem::size_of::<Header>());
        }
        let distinct: HashSet<_> = slots.iter().map(|&s| addr(s)).collect();
        assert_eq!(distinct.len(), PER_CHUNK);
        // SAFETY: each slot came from `alloc` and is freed once.
        unsafe { free_all(slots) };
    }

    #[test]
    fn freed_slots_are_reused_before_a_new_chunk() {
        let mut arena = Arena::new(LAYOUT);
        let slots: Vec<_> = (0..3 * PER_CHUNK + 5).map(|_| arena.alloc()).collect();
        assert_eq!(arena.chunks(), 4);
        // Free every third slot, across all four chunks.
        let (freed, kept): (Vec<_>, Vec<_>) =
            slots.iter().enumerate().partition(|(i, _)| i % 3 == 0);
        let freed: HashSet<_> = freed.iter().map(|(_, s)| addr(**s)).collect();
        for &a in &freed {
            // SAFETY: allocated above, freed once.
            unsafe { free(NonNull::new(a as *mut u8).unwrap()) };
        }
        // The current chunk still has its bump range: it is used first, then the freed slots.
        let bump_left = 4 * PER_CHUNK - slots.len();
        let again: Vec<_> = (0..bump_left + freed.len())
            .map(|_| arena.alloc())
            .collect();
        assert_eq!(arena.chunks(), 4, "no new chunk while freed slots are left");
        let reused: HashSet<_> = again[bump_left..].iter().map(|&s| addr(s)).collect();
        assert_eq!(reused, freed, "every freed slot reused, nothing else");
        let one_more = arena.alloc();
        assert_eq!(arena.chunks(), 5);
        // SAFETY: all allocated above and not freed yet.
        unsafe {
            free_all(kept.into_iter().map(|(_, s)| *s));
            free_all(again);
            free(one_more);
        }
        // The four emptied chunks: one is the spare, three are released; the fifth is current.
        assert_eq!(arena.chunks(), 2);
    }

    #[test]
    fn one_batch_frees_slots_of_several_pools() {
        // A map has an arena per shard, and its drop frees every shard's entries in one batch:
        // each slot must go back to its own pool (once, one batch took the first slot's pool
        // for all, and a chunk count went below zero).
        let mut arenas = [Arena::new(LAYOUT), Arena::new(LAYOUT)];
        let mut slots = Vec::new();
        for _ in 0..2 * PER_CHUNK {
            for arena in &mut arenas {
                slots.push(arena.alloc());
            }
        }
        assert_eq!(arenas.each_ref().map(Arena::chunks), [2, 2]);
        // Interleaved runs: single slots, then a run of each pool.
        let (alternating, runs) = slots.split_at(PER_CHUNK);
        let mut runs = runs.to_vec();
        runs.sort_by_key(|&s| header_of(s).addr());
        // SAFETY: all allocated above, each freed once.
        unsafe {
            free_all(alternating.iter().copied());
            free_all(runs);
        }
        assert_eq!(
            arenas.each_ref().map(Arena::chunks),
            [1, 1],
            "one spare each"
        );
        for arena in &mut arenas {
            arena.close();
        }
    }

    #[test]
    fn emptied_chunks_are_released_but_one_spare_which_is_used_next() {
        let mut arena = Arena::new(LAYOUT);
        let slots: Vec<_> = (0..4 * PER_CHUNK).map(|_| arena.alloc()).collect();
        assert_eq!(arena.chunks(), 4);
        // SAFETY: allocated above, freed once.
        unsafe { free_all(slots[PER_CHUNK..].iter().copied()) };
        assert_eq!(arena.chunks(), 2, "the first chunk, and one spare");
        let spare_slot = arena.alloc();
        assert_eq!(arena.chunks(), 2, "the spare is used before a new chunk");
        assert_ne!(header_of(spare_slot), header_of(slots[0]));
        // SAFETY: allocated above, freed once.
        unsafe {
            free_all(slots[..PER_CHUNK].iter().copied());
            free(spare_slot);
        }
        // The spare's bump range is still the arena's, so its chunk stays, and one spare.
        assert_eq!(arena.chunks(), 2);
    }

    #[test]
    fn a_closed_arena_lives_until_its_last_slot_is_freed_on_another_thread() {
        let mut arena = Arena::new(LAYOUT);
        let slots: Vec<_> = (0..2 * PER_CHUNK + 3).map(|_| arena.alloc()).collect();
        // SAFETY: allocated above, freed once.
        unsafe { free_all(slots[..PER_CHUNK].iter().copied()) };
        drop(arena); // the map's drop; the rest are "retired", freed later elsewhere
        let slots: Vec<usize> = slots[PER_CHUNK..].iter().map(|&s| addr(s)).collect();
        thread::spawn(move || {
            for a in slots {
                // SAFETY: allocated above, freed once; the pool outlives its chunks.
                unsafe { free(NonNull::new(a as *mut u8).unwrap()) };
            }
        })
        .join()
        .unwrap();
        // LSan (`cargo xtask asan`) reports the pool or a chunk if either was left behind.
    }

    #[test]
    fn slots_freed_on_other_threads_are_never_handed_out_twice() {
        const THREADS: usize = 3;
        const ROUNDS: u64 = 40_000;
        const WINDOW: usize = 1_000;
        let mut arena = Arena::new(LAYOUT);
        let (done_tx, done_rx) = mpsc::channel::<usize>();
        let freers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<(usize, u64)>();
                let done = done_tx.clone();
                let handle = thread::spawn(move || {
                    for (a, id) in rx {
                        let p = a as *mut Slot;
                        // SAFETY: the slot was written with `id` and sent to this thread alone;
                        // if the arena handed it out again while live, the new owner's write
                        // would show here.
                        let seen = unsafe { p.read() };
                        assert_eq!(seen, [id; 4], "slot {a:#x} was handed out twice");
                        // SAFETY: allocated by the arena, freed once, by its only owner.
                        unsafe { free(NonNull::new(a as *mut u8).unwrap()) };
                        done.send(1).unwrap();
                    }
                });
                (tx, handle)
            })
            .collect();
        drop(done_tx);
        let mut outstanding = 0;
        for id in 0..ROUNDS {
            // Keep at most `WINDOW` slots in flight, so that the freers keep up.
            if outstanding == WINDOW {
                done_rx.recv().unwrap();
                outstanding -= 1;
            }
            outstanding += 1;
            let slot = arena.alloc().cast::<Slot>();
            // SAFETY: a fresh slot of `Slot`'s layout, ours until sent.
            unsafe { slot.write([id; 4]) };
            freers[id as usize % THREADS]
                .0
                .send((slot.addr().get(), id))
                .unwrap();
        }
        let chunks_at_peak = arena.chunks();
        for (tx, handle) in freers {
            drop(tx);
            handle.join().unwrap();
        }
        assert_eq!(done_rx.iter().count(), outstanding, "every slot freed");
        // Without reuse, 80 chunks; with it, the slots in flight and what the chunks' free
        // lists hold between refills.
        assert!(
            chunks_at_peak <= 2 * WINDOW / PER_CHUNK + 3,
            "freed slots were not reused ({chunks_at_peak} chunks)"
        );
        assert!(arena.chunks() <= 2, "{} chunks left", arena.chunks());
    }
}
