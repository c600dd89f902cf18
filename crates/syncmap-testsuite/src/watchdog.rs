//! The watchdog: a test that blocks fails after a bounded time, with a message naming what it
//! was waiting on, instead of hanging the run.
//!
//! [`conformance_tests!`](crate::conformance_tests) runs every test body through [`run`]: the
//! body runs on a thread of its own, and the test's thread waits for it at most the deadline
//! ([`DEFAULT_DEADLINE`], or [`WATCHDOG_ENV`] seconds). A body that finishes or panics in time
//! passes or fails as it would without the watchdog (its panic is re-raised on the test's
//! thread). A body still running at the deadline fails the test with a message that names the
//! steps it was [`waiting_on`] (innermost first) and their likely cause, such as a map that holds
//! a lock while a `range` callback runs. A stuck thread cannot be killed: it is left behind,
//! parked on whatever it waits for, and the other tests go on (the test binary exits when the
//! harness is done, whatever threads are left).
//!
//! The usual cause is a map that breaks the contract's
//! [Callbacks](crate::ConcurrentMap#callbacks) ("the map holds no lock while they run") or
//! [Panics](crate::ConcurrentMap#panics) ("no waiting thread is left blocked").
//!
//! Bodies mark where they may block with [`waiting_on`]; the marks cost a lock and a `Vec`
//! push, and nothing without a watchdog. Only the body's own thread marks: a thread the body
//! spawns is waited for by the body (at the end of a `thread::scope`), which marks that wait.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use syncmap_testsuite::watchdog::{run_for, waiting_on};
//!
//! // A body that finishes in time passes.
//! run_for("quick", Duration::from_secs(10), || {
//!     let _waiting = waiting_on("nothing much".into());
//! });
//!
//! // A body that blocks fails at the deadline, naming what it was waiting on.
//! let failed = std::panic::catch_unwind(|| {
//!     run_for("stuck", Duration::from_millis(50), || {
//!         let _waiting = waiting_on("a lock that nobody releases".into());
//!         std::thread::sleep(Duration::from_secs(5));
//!     })
//! });
//! let message = *failed.unwrap_err().downcast::<String>().unwrap();
//! assert!(message.contains("a lock that nobody releases"), "{message}");
//! ```

use std::{
    borrow::Cow,
    cell::RefCell,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::{Arc, mpsc},
    thread,
    time::Duration,
};

use parking_lot::Mutex;

/// The environment variable that sets the watchdog's deadline, in seconds (fractions allowed);
/// `0` turns the watchdog off (the body then runs on the test's own thread).
pub const WATCHDOG_ENV: &str = "SYNCMAP_SUITE_WATCHDOG_SECS";

/// The deadline when [`WATCHDOG_ENV`] is not set: far above the slowest test's run time on a
/// loaded two-core machine (a few seconds), far below a CI job's limit.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// A `range` callback that calls the map did not return.
pub const RANGE_CALLBACK_CALLS_MAP: &str = "a `range` callback that calls the map (a write, or a \
    nested `range`) to return: a map that holds a lock while the callback runs deadlocks here; \
    the `ConcurrentMap::range` contract lets the callback call any method of the map";

/// The test's threads, each running map operations, did not all finish.
pub const THREADS: &str = "the test's threads (its main thread among them) to finish their \
    map operations: one of them is stuck in an operation (a deadlock between two operations of \
    the map, a lock left held after a panic, or an operation that waits for another that never \
    ends)";

/// A map operation after a callback or closure of the map panicked did not return.
pub const AFTER_A_PANIC: &str = "a map operation after a user callback, closure, `Hash`, `Eq` \
    or `Drop` panicked inside the map: a map that leaves a lock held, or a waiter unreleased, \
    when user code unwinds through it blocks here; the `ConcurrentMap` contract requires the \
    map to stay usable";

/// A `load_or_store_with` waiting for another thread's computation of the same key, whose
/// closure panicked, did not return.
pub const COMPUTE_WAITER: &str = "a `load_or_store_with` on a key whose computation on another \
    thread panicked: a map that does not release the waiters of a panicking closure blocks \
    here; the `ConcurrentMap::load_or_store_with` contract requires it to release them";

/// The child process that runs a check alone did not finish.
pub const CHILD_PROCESS: &str = "the child process that runs this check alone (its own \
    watchdog fires first and reports there, above)";

/// The watchdog's deadline: [`WATCHDOG_ENV`] seconds, [`DEFAULT_DEADLINE`] if unset, `None`
/// (no watchdog) if `0`.
///
/// # Panics
///
/// If [`WATCHDOG_ENV`] is set to something else than a non-negative number.
pub fn deadline() -> Option<Duration> {
    let Some(value) = std::env::var_os(WATCHDOG_ENV) else {
        return Some(DEFAULT_DEADLINE);
    };
    let secs: f64 = value
        .to_str()
        .and_then(|s| s.trim().parse().ok())
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .unwrap_or_else(|| panic!("{WATCHDOG_ENV}={value:?}: not a number of seconds"));
    (secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// What one test body is waiting on: a stack of marks, outermost first.
#[derive(Default)]
struct Marks(Mutex<Vec<(u64, Cow<'static, str>)>>);

thread_local! {
    /// The marks of the test body running on this thread, if a watchdog runs it.
    static MARKS: RefCell<Option<Arc<Marks>>> = const { RefCell::new(None) };
}

/// Marks, until dropped, that the current test body may block in what follows, and on what:
/// if the watchdog fires meanwhile, its message names `what`. Marks nest (the message lists
/// them innermost first). Does nothing outside a watchdog's body thread.
///
/// `what` completes the sentence "the test was waiting on …", and says what a map may have done
/// to block there; this module's constants are the suite's usual ones.
///
/// # Examples
///
/// ```
/// use syncmap_testsuite::watchdog::{RANGE_CALLBACK_CALLS_MAP, waiting_on};
///
/// let _waiting = waiting_on(RANGE_CALLBACK_CALLS_MAP.into());
/// ```
#[must_use = "the mark lasts until the guard is dropped"]
pub fn waiting_on(what: Cow<'static, str>) -> Waiting {
    let marks = MARKS.with(|m| m.borrow().clone());
    let id = marks.as_ref().map_or(0, |marks| {
        let mut stack = marks.0.lock();
        let id = stack.last().map_or(1, |(id, _)| id + 1);
        stack.push((id, what));
        id
    });
    Waiting { marks, id }
}

/// The guard of a [`waiting_on`] mark: the mark ends when it is dropped.
#[derive(Debug)]
pub struct Waiting {
    marks: Option<Arc<Marks>>,
    id: u64,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(marks) = &self.marks {
            marks.0.lock().retain(|(id, _)| *id != self.id);
        }
    }
}

impl core::fmt::Debug for Marks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.0.lock().iter().map(|(_, what)| what))
            .finish()
    }
}

/// Runs the test body `body`, named `test`, under the watchdog with the deadline of
/// [`deadline`] (or directly if the watchdog is off). See the [module docs](self).
///
/// # Panics
///
/// If `body` panics (with its payload), or if it has not finished at the deadline.
pub fn run(test: &str, body: impl FnOnce() + Send + 'static) {
    match deadline() {
        Some(deadline) => run_for(test, deadline, body),
        None => body(),
    }
}

/// Runs the test body `body`, named `test`, on a thread of its own, and waits for it at most
/// `deadline`. See the [module docs](self).
///
/// # Panics
///
/// If `body` panics (with its payload), or if it has not finished after `deadline`.
pub fn run_for(test: &str, deadline: Duration, body: impl FnOnce() + Send + 'static) {
    let marks = Arc::new(Marks::default());
    let (done, finished) = mpsc::channel();
    // The body thread takes the test thread's name, so that its panic messages name the test
    // as they would without the watchdog.
    let name = thread::current().name().unwrap_or(test).to_string();
    let body_marks = Arc::clone(&marks);
    let body_thread = thread::Builder::new()
        .name(name)
        .spawn(move || {
            MARKS.with(|m| *m.borrow_mut() = Some(body_marks));
            let outcome = catch_unwind(AssertUnwindSafe(body));
            MARKS.with(|m| m.borrow_mut().take());
            // The test thread may have given up waiting (the watchdog fired): nobody listens.
            let _ = done.send(outcome);
        })
        .expect("spawn the test body's thread");
    match finished.recv_timeout(deadline) {
        Ok(outcome) => {
            // The body has returned: the thread only has its thread-locals to drop.
            let _ = body_thread.join();
            if let Err(payload) = outcome {
                resume_unwind(payload);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{}", report(test, deadline, &marks)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("{test}: the test body's thread ended without reporting (it aborted?)")
        }
    }
}

/// [`std::thread::scope`], marked as [`waiting_on`] [`THREADS`] until every thread of the scope
/// has finished.
///
/// # Examples
///
/// ```
/// let sum: u64 = syncmap_testsuite::watchdog::scope(|s| {
///     let a = s.spawn(|| 1_u64);
///     let b = s.spawn(|| 2_u64);
///     a.join().unwrap() + b.join().unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope thread::Scope<'scope, 'env>) -> T,
{
    let _waiting = waiting_on(THREADS.into());
    thread::scope(f)
}

/// The watchdog's failure message.
fn report(test: &str, deadline: Duration, marks: &Marks) -> String {
    let stack = marks.0.lock();
    let mut waits = stack.iter().rev().map(|(_, what)| what.as_ref());
    let waiting = match waits.next() {
        Some(innermost) => {
            let mut text = format!("it was waiting on {innermost}");
            for outer in waits {
                text.push_str(&format!("\n  within: {outer}"));
            }
            text
        }
        None => "it did not say what it was waiting on: a map operation that never returns (a \
                 deadlock, or a lock left held) is the likely cause"
            .to_string(),
    };
    format!(
        "watchdog: {test} did not finish within {deadline:?} ({WATCHDOG_ENV} sets the deadline); \
         {waiting}\n(the stuck thread is left behind; the other tests go on)"
    )
}
