//! Where writers that found their key reserved by `load_or_store_with` wait for the reservation
//! to end: [`Reservations`], the waiting room, and the [`Ticket`] a waiter holds; and the
//! record ([`ReservedHere`]) that makes a thread's write of a key it is computing panic rather
//! than wait for itself. It knows entries (their address, and whether they are reserved) and
//! nothing of the map: the reservations themselves are `reserve.rs`'s.

use core::{
    cell::RefCell,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use super::entry::Entry;
use crate::{
    primitive::sync::{Condvar, Mutex},
    reclaim::Reclaim,
};

/// The waiting room of writers that found a key reserved.
///
/// Each waiter is registered under the address of the entry it waits for, while it still holds
/// the guard under which it found the entry reserved; from then on it holds only its
/// [`Ticket`]. Ending a reservation removes every waiter registered under that entry and wakes
/// them (threads through the condition variable, tasks through their wakers); each then looks
/// its key up again from the start. An address reused by a later entry at worst wakes a waiter
/// early, which then finds the key's state for itself.
#[derive(Default)]
pub(super) struct Reservations {
    waiting: Mutex<Waiting>,
    /// Notified whenever a thread's registration is removed.
    ended: Condvar,
}

/// The registered waiters.
#[derive(Default)]
struct Waiting {
    next_ticket: u64,
    list: Vec<Waiter>,
}

/// One registered waiter.
struct Waiter {
    /// The address of the reserved entry.
    entry: usize,
    ticket: u64,
    wake: Wake,
}

/// How a waiter is woken.
enum Wake {
    /// A thread blocked in [`Reservations::wait`], on the condition variable.
    Thread,
    /// A task awaiting [`Reservations::ended`]: its waker, once it has been polled.
    Task(Option<Waker>),
}

/// How a waiter waits: blocking its thread, or as a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitBy {
    Thread,
    Task,
}

/// A registration in [`Reservations`]: the right to wait for one reservation to end. Holds no
/// guard and does not touch the entry. Must be waited for or [forgotten](Reservations::forget)
/// (the async waiter does so on drop), or it stays registered until the reservation ends.
#[derive(Debug)]
#[must_use = "a ticket must be waited for"]
pub(crate) struct Ticket(u64);

impl Waiting {
    fn position(&self, ticket: &Ticket) -> Option<usize> {
        self.list.iter().position(|w| w.ticket == ticket.0)
    }
}

impl Reservations {
    /// Registers the caller to be woken when the reservation on `entry` ends, which the caller
    /// found under a guard it still holds (so `entry` is alive). `None` if it has already ended:
    /// the caller looks again at once.
    ///
    /// # Panics
    ///
    /// If this thread holds that reservation (its closure writes the key it computes), which
    /// would wait for itself forever.
    #[cold]
    pub(super) fn register<K, V, R: Reclaim>(
        &self,
        entry: &Entry<K, V, R>,
        by: WaitBy,
    ) -> Option<Ticket> {
        // No lock is held here: the panic leaves everything consistent.
        assert!(
            !reserved_by_this_thread(entry),
            "a `load_or_store_with` closure wrote the key it is computing (store, swap, \
             load_or_store or load_or_store_with of the same key on the same map), which would \
             wait for the closure itself forever"
        );
        let mut waiting = self.waiting.lock();
        // The reserving thread leaves *reserved* before taking this lock to wake the waiters,
        // so a reservation seen here, under the lock, is always followed by that wake-up.
        if !entry.is_reserved() {
            return None;
        }
        let ticket = waiting.next_ticket;
        waiting.next_ticket += 1;
        waiting.list.push(Waiter {
            entry: address(entry),
            ticket,
            wake: match by {
                WaitBy::Thread => Wake::Thread,
                WaitBy::Task => Wake::Task(None),
            },
        });
        Some(Ticket(ticket))
    }

    /// Blocks until the reservation `ticket` waits for has ended. The caller holds no guard.
    #[cold]
    pub(super) fn wait(&self, ticket: Option<Ticket>) {
        let Some(ticket) = ticket else { return };
        let mut waiting = self.waiting.lock();
        while waiting.position(&ticket).is_some() {
            waiting = self.ended.wait(waiting);
        }
    }

    /// Whether the reservation `ticket` waits for has ended; if not, `cx`'s waker is woken
    /// when it does.
    fn poll_ended(&self, ticket: &Ticket, cx: &mut Context<'_>) -> Poll<()> {
        let mut waiting = self.waiting.lock();
        let Some(i) = waiting.position(ticket) else {
            return Poll::Ready(());
        };
        match &mut waiting.list[i].wake {
            Wake::Task(Some(waker)) if waker.will_wake(cx.waker()) => {}
            wake => *wake = Wake::Task(Some(cx.waker().clone())),
        }
        Poll::Pending
    }

    /// Withdraws a registration that will not be waited for (a dropped async waiter). Leaves no
    /// trace: wake-ups go to every waiter of an entry, so none is owed to this one.
    fn forget(&self, ticket: Ticket) {
        let mut waiting = self.waiting.lock();
        if let Some(i) = waiting.position(&ticket) {
            waiting.list.swap_remove(i);
        }
    }

    /// A future that completes when the reservation `ticket` waits for has ended (at once for
    /// `None`); dropping it withdraws the registration.
    pub(super) fn ended(&self, ticket: Option<Ticket>) -> ReservationEnded<'_> {
        ReservationEnded {
            reservations: self,
            ticket,
        }
    }

    /// Wakes the waiters of the reservation on the entry at `entry`, which the caller has just
    /// ended. Wakers run after the lock is released (a waker is user code).
    pub(super) fn notify(&self, entry: usize) {
        let mut tasks = Vec::new();
        let mut threads = false;
        {
            let mut waiting = self.waiting.lock();
            if waiting.list.is_empty() {
                return;
            }
            waiting.list.retain_mut(|w| {
                if w.entry != entry {
                    return true;
                }
                match &mut w.wake {
                    Wake::Thread => threads = true,
                    Wake::Task(waker) => tasks.extend(waker.take()),
                }
                false
            });
            if threads {
                self.ended.notify_all();
            }
        }
        tasks.into_iter().for_each(Waker::wake);
    }

    /// The number of registered waiters (tests).
    #[cfg(all(test, not(loom)))]
    pub(super) fn registered(&self) -> usize {
        self.waiting.lock().list.len()
    }
}

/// The future of [`Reservations::ended`].
#[must_use = "futures do nothing unless awaited"]
pub(crate) struct ReservationEnded<'a> {
    reservations: &'a Reservations,
    ticket: Option<Ticket>,
}

impl Future for ReservationEnded<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(ticket) = &self.ticket else {
            return Poll::Ready(());
        };
        let ready = self.reservations.poll_ended(ticket, cx);
        if ready.is_ready() {
            self.ticket = None;
        }
        ready
    }
}

impl Drop for ReservationEnded<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.reservations.forget(ticket);
        }
    }
}

/// The address of `value`, as waiters and reservations record entries.
fn address<T>(value: &T) -> usize {
    (&raw const *value).addr()
}

#[cfg(not(loom))]
std::thread_local! {
    /// The addresses of the entries this thread holds a reservation on and is computing now,
    /// innermost last (a closure computing one key may insert others with
    /// `load_or_store_with`; an async initialiser is recorded while it is being polled).
    static RESERVED_HERE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

#[cfg(loom)]
loom::thread_local! {
    // As above, per loom thread (loom runs its threads on one OS thread).
    static RESERVED_HERE: RefCell<Vec<usize>> = RefCell::new(Vec::new());
}

/// Records, while it lives, that this thread runs the computation of a reservation it holds,
/// so that a write of the same key from inside it panics rather than waiting for itself
/// ([`reserved_by_this_thread`]).
pub(super) struct ReservedHere(usize);

impl ReservedHere {
    pub(super) fn new<K, V, R: Reclaim>(entry: &Entry<K, V, R>) -> Self {
        let address = address(entry);
        // Without the thread-local (a thread being torn down), the re-entry goes undetected.
        let _ = RESERVED_HERE.try_with(|here| here.borrow_mut().push(address));
        ReservedHere(address)
    }
}

impl Drop for ReservedHere {
    fn drop(&mut self) {
        let _ = RESERVED_HERE.try_with(|here| {
            let mut here = here.borrow_mut();
            if let Some(i) = here.iter().rposition(|&a| a == self.0) {
                here.remove(i);
            }
        });
    }
}

/// Whether this thread is computing the reservation on `entry`. A recorded address is that of
/// an entry whose reservation this thread holds, which keeps the entry allocated, so no other
/// entry can have its address.
fn reserved_by_this_thread<K, V, R: Reclaim>(entry: &Entry<K, V, R>) -> bool {
    let address = address(entry);
    RESERVED_HERE
        .try_with(|here| here.borrow().contains(&address))
        .unwrap_or(false)
}
