//! Helpers shared by the test bodies: sizes, a seeded generator, waiting for reclamation.

use std::time::{Duration, Instant};

use crate::Backend;

/// Scales an iteration count by the environment variable `SYNCMAP_TEST_SCALE` (a percentage,
/// default 100; `cargo xtask asan` lowers it), never below 1.
///
/// # Examples
///
/// ```
/// assert!(syncmap_testsuite::util::scaled(1000) >= 1);
/// ```
pub fn scaled(n: usize) -> usize {
    let percent = std::env::var("SYNCMAP_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(100);
    (n * percent / 100).max(1)
}

/// Threads for the concurrent tests: more than this machine's cores (so that threads are
/// preempted in the middle of operations), at most 8.
///
/// # Examples
///
/// ```
/// assert!(syncmap_testsuite::util::threads() >= 2);
/// ```
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, usize::from)
        .saturating_mul(2)
        .clamp(4, 8)
}

/// A small seeded xorshift generator, so that every concurrent test is reproducible per thread.
///
/// # Examples
///
/// ```
/// let mut rng = syncmap_testsuite::util::Rng::new(7);
/// assert!(rng.below(10) < 10);
/// ```
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Calls [`Backend::quiesce`] (sleeping a little between rounds once the first rounds did not
/// suffice) until `done` holds or `timeout` passes; returns whether `done` held.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use syncmap_testsuite::{Backend, Key, Value, util::quiesce_until};
///
/// struct Reference;
/// impl Backend for Reference {
///     type Map<K: Key, V: Value> = syncmap_testsuite::reference::RwLockMap<K, V>;
/// }
/// assert!(quiesce_until::<Reference>(Duration::from_millis(10), || true));
/// ```
pub fn quiesce_until<B: Backend>(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut round = 0_u32;
    loop {
        if done() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        B::quiesce();
        round += 1;
        if round > 64 {
            std::thread::sleep(Duration::from_millis(1));
        } else {
            std::thread::yield_now();
        }
    }
}

/// How long the memory checks wait for deferred reclamation before failing.
pub const RECLAIM_TIMEOUT: Duration = Duration::from_secs(10);
