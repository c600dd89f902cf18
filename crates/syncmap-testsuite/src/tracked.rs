//! [`Tracked`]: keys and values that count their drops, and can be set to panic in `Hash`, `Eq`,
//! `Clone` or `Drop`.

use core::{
    fmt,
    hash::{Hash, Hasher},
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread::{self, ThreadId},
};

use parking_lot::Mutex;

/// Panic in [`Hash::hash`].
pub const PANIC_ON_HASH: u8 = 1;
/// Panic in [`PartialEq::eq`] (when this instance is either side of the comparison).
pub const PANIC_ON_EQ: u8 = 2;
/// Panic in [`Clone::clone`].
pub const PANIC_ON_CLONE: u8 = 4;
/// Panic in [`Drop::drop`] (after the drop is counted).
pub const PANIC_ON_DROP: u8 = 8;
/// Panic in [`Drop::drop`] only when dropped on the thread that made the instance.
///
/// For values handed to deferred reclamation: a global collector (crossbeam-epoch's) may run
/// their destructor on any thread, inside another test's operation, which must not panic.
pub const PANIC_ON_DROP_HERE: u8 = 16;

/// The drop counts of every [`Tracked`] instance one test creates.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::tracked::Tracker;
///
/// let tracker = Tracker::new();
/// let a = tracker.make(1);
/// assert_eq!(tracker.live(), 1);
/// drop(a);
/// tracker.assert_all_dropped_once();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    drops: Arc<Mutex<Vec<u32>>>,
    panics: Arc<AtomicUsize>,
}

impl Tracker {
    /// A tracker with no instances.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new instance with logical value `value` (what `Hash` and `Eq` look at).
    pub fn make(&self, value: u64) -> Tracked {
        self.make_trapped(value, 0)
    }

    /// A new instance that panics in the operations named by `traps` (`PANIC_ON_*` bits).
    pub fn make_trapped(&self, value: u64, traps: u8) -> Tracked {
        let mut drops = self.drops.lock();
        let id = drops.len();
        drops.push(0);
        Tracked {
            value,
            id,
            traps,
            drops: Arc::clone(&self.drops),
            panics: Arc::clone(&self.panics),
            thread: thread::current().id(),
        }
    }

    /// How many drops of this tracker's instances have panicked (trapped drops that fired).
    pub fn drop_panics(&self) -> usize {
        self.panics.load(Ordering::SeqCst)
    }

    /// Instances created so far.
    pub fn created(&self) -> usize {
        self.drops.lock().len()
    }

    /// Instances not dropped yet.
    pub fn live(&self) -> usize {
        self.drops.lock().iter().filter(|&&n| n == 0).count()
    }

    /// Instances dropped more than once (each one is a double free in the map).
    pub fn dropped_twice(&self) -> usize {
        self.drops.lock().iter().filter(|&&n| n > 1).count()
    }

    /// Whether every instance has been dropped exactly once.
    pub fn all_dropped_once(&self) -> bool {
        self.drops.lock().iter().all(|&n| n == 1)
    }

    /// Panics unless every instance has been dropped exactly once, naming the first offender.
    pub fn assert_all_dropped_once(&self) {
        let drops = self.drops.lock();
        let leaked = drops.iter().filter(|&&n| n == 0).count();
        let twice = drops.iter().filter(|&&n| n > 1).count();
        assert!(
            leaked == 0 && twice == 0,
            "of {} instances, {leaked} were never dropped and {twice} were dropped more than once \
             (first offender: instance {:?})",
            drops.len(),
            drops.iter().position(|&n| n != 1),
        );
    }
}

/// A key or value for the memory and panic-safety checks: hashes and compares by its logical
/// value, counts its drop in its [`Tracker`], and panics where its traps say.
///
/// Every instance is distinct (its own drop count), even if two have the same logical value.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::tracked::{PANIC_ON_HASH, Tracker};
///
/// let tracker = Tracker::new();
/// let trap = tracker.make_trapped(1, PANIC_ON_HASH);
/// let hashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), &trap)
/// }));
/// assert!(hashed.is_err());
/// assert_eq!(trap, tracker.make(1));
/// ```
pub struct Tracked {
    value: u64,
    id: usize,
    traps: u8,
    drops: Arc<Mutex<Vec<u32>>>,
    panics: Arc<AtomicUsize>,
    /// The thread that made this instance (for [`PANIC_ON_DROP_HERE`]).
    thread: ThreadId,
}

impl Tracked {
    /// The logical value.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// This instance's number in its tracker.
    pub fn id(&self) -> usize {
        self.id
    }

    fn trapped(&self, trap: u8) -> bool {
        self.traps & trap != 0
    }
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tracked({} #{})", self.value, self.id)
    }
}

impl Hash for Tracked {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(!self.trapped(PANIC_ON_HASH), "trap: Hash of {self:?}");
        self.value.hash(state);
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        assert!(
            !self.trapped(PANIC_ON_EQ) && !other.trapped(PANIC_ON_EQ),
            "trap: Eq of {self:?} and {other:?}"
        );
        self.value == other.value
    }
}

impl Eq for Tracked {}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        assert!(!self.trapped(PANIC_ON_CLONE), "trap: Clone of {self:?}");
        let mut drops = self.drops.lock();
        let id = drops.len();
        drops.push(0);
        Tracked {
            value: self.value,
            id,
            // A clone is another instance: it keeps the traps of the logical value (`Hash`,
            // `Eq`, `Clone`), not those of the instance's own drop, so that a map that clones
            // (see `Backend::CLONES`) does not multiply a trapped drop.
            traps: self.traps & !(PANIC_ON_DROP | PANIC_ON_DROP_HERE),
            drops: Arc::clone(&self.drops),
            panics: Arc::clone(&self.panics),
            thread: thread::current().id(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.lock()[self.id] += 1;
        let here = thread::current().id() == self.thread;
        let trapped = self.trapped(PANIC_ON_DROP) || (self.trapped(PANIC_ON_DROP_HERE) && here);
        // Never while unwinding: a panic in a destructor that runs during unwinding aborts.
        if trapped && !thread::panicking() {
            self.panics.fetch_add(1, Ordering::SeqCst);
            panic!("trap: Drop of {self:?}");
        }
    }
}
