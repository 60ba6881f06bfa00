//! The hashing pool: a fixed set of threads, admission by class with a share for anonymous
//! work, priority for urgent work, a cost ceiling per job, and the recent latency.
//!
//! Nothing here knows argon2: a job is a closure over the thread's [`Worker`], with a
//! [`JobClass`] (whose capacity it takes and how soon it runs) and a [`Cost`] (refused
//! above the ceiling before it is queued). Other verifiers (legacy hash formats) plug in
//! as more jobs with their own cost.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::argon::Worker;

/// On whose behalf a job runs: which capacity it takes and how soon it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobClass {
    /// A known user (a login whose user exists, a password change) or the application:
    /// may take the whole capacity; runs first.
    Known,
    /// A login of an unknown user: takes the anonymous share; runs first, like a known
    /// user's login, so the two wait alike.
    UnknownLogin,
    /// Other anonymous work (registration, password reset): takes the anonymous share;
    /// runs when no urgent job waits.
    Anonymous,
}

impl JobClass {
    fn anonymous(self) -> bool {
        !matches!(self, Self::Known)
    }

    fn urgent(self) -> bool {
        !matches!(self, Self::Anonymous)
    }
}

/// What a job costs: the memory it needs, its work (memory × passes, in KiB-passes) and
/// its lanes (argon2's p-cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cost {
    pub(super) memory_kib: u64,
    pub(super) work: u64,
    pub(super) lanes: u64,
}

impl Cost {
    pub(super) fn fits(self, ceiling: Cost) -> bool {
        self.memory_kib <= ceiling.memory_kib
            && self.work <= ceiling.work
            && self.lanes <= ceiling.lanes
    }
}

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No capacity left for its class.
    Full,
    /// The class has capacity in general, but its anonymous share is taken.
    ShareTaken,
    /// It costs more than the ceiling.
    TooCostly,
    /// The pool has stopped (or the job panicked).
    Stopped,
}

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

#[derive(Default)]
struct State {
    urgent: VecDeque<Job>,
    normal: VecDeque<Job>,
    /// Jobs admitted and not finished (queued or running), and how many are anonymous.
    admitted: usize,
    admitted_anonymous: usize,
    closed: bool,
}

struct PoolShared {
    state: Mutex<State>,
    ready: Condvar,
}

impl PoolShared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic never happens while the lock is held (jobs run outside it).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A place in the pool, given back when the job is done (or dropped unrun).
struct Ticket {
    shared: Arc<PoolShared>,
    anonymous: bool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.admitted -= 1;
        if self.anonymous {
            state.admitted_anonymous -= 1;
        }
    }
}

/// An exponentially weighted moving average of durations (weight 1/8), in microseconds.
pub(crate) struct Ewma(AtomicU64);

impl Ewma {
    pub(super) fn new(initial: Duration) -> Self {
        Self(AtomicU64::new(micros(initial).max(1)))
    }

    pub(super) fn get(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    pub(super) fn record(&self, sample: Duration) {
        let sample = micros(sample);
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old.saturating_mul(7).saturating_add(sample) / 8).max(1))
            });
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The pool's threads and queues; dropping it lets the threads end once the queues are
/// empty.
pub(crate) struct Pool {
    shared: Arc<PoolShared>,
    size: usize,
    capacity: usize,
    anonymous_capacity: usize,
    ceiling: Cost,
    /// Queue + run time of urgent jobs at the current cost: how long a login waits.
    latency: Ewma,
}

impl Pool {
    /// Starts `size` threads, each with its own `worker()`; admits `capacity` jobs at once
    /// (running and queued), `anonymous_capacity` of them anonymous.
    pub(super) fn start(
        size: usize,
        capacity: usize,
        anonymous_capacity: usize,
        ceiling: Cost,
        expected_latency: Duration,
        worker: impl Fn() -> Worker + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(PoolShared {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
        });
        let worker = Arc::new(worker);
        for n in 0..size {
            let shared = Arc::clone(&shared);
            let worker = Arc::clone(&worker);
            std::thread::Builder::new()
                .name(format!("centurion-hash-{n}"))
                .spawn(move || run_worker(&shared, worker()))?;
        }
        Ok(Self {
            shared,
            size,
            capacity,
            anonymous_capacity,
            ceiling,
            latency: Ewma::new(expected_latency),
        })
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    pub(super) fn capacity(&self) -> (usize, usize) {
        (self.capacity, self.anonymous_capacity)
    }

    pub(super) fn ceiling(&self) -> Cost {
        self.ceiling
    }

    /// Queue + run time of recent urgent jobs at the current cost.
    pub(super) fn latency(&self) -> Duration {
        self.latency.get()
    }

    pub(super) fn record_latency(&self, sample: Duration) {
        self.latency.record(sample);
    }

    fn admit(&self, class: JobClass) -> Result<Ticket, Refusal> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(Refusal::Stopped);
        }
        if state.admitted >= self.capacity {
            return Err(Refusal::Full);
        }
        let anonymous = class.anonymous();
        if anonymous && state.admitted_anonymous >= self.anonymous_capacity {
            return Err(Refusal::ShareTaken);
        }
        state.admitted += 1;
        if anonymous {
            state.admitted_anonymous += 1;
        }
        Ok(Ticket {
            shared: Arc::clone(&self.shared),
            anonymous,
        })
    }

    /// Runs `job` on a pool thread and answers with its result and the time from
    /// submission to answer.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        class: JobClass,
        cost: Cost,
        job: impl FnOnce(&mut Worker) -> T + Send + 'static,
    ) -> Result<(T, Duration), Refusal> {
        if !cost.fits(self.ceiling) {
            return Err(Refusal::TooCostly);
        }
        let ticket = self.admit(class)?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |worker| {
            let out = job(worker);
            // Give the place back before answering, so the caller's next job finds it.
            drop(ticket);
            let _ = tx.send(out);
        });
        let submitted = Instant::now();
        {
            let mut state = self.shared.lock();
            if class.urgent() {
                state.urgent.push_back(job);
            } else {
                state.normal.push_back(job);
            }
        }
        self.shared.ready.notify_one();
        let out = rx.await.map_err(|_| Refusal::Stopped)?;
        Ok((out, submitted.elapsed()))
    }

    /// Admitted jobs (running or queued), and how many of them are anonymous.
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn load(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.admitted, state.admitted_anonymous)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

fn run_worker(shared: &PoolShared, mut worker: Worker) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if let Some(job) = state
                    .urgent
                    .pop_front()
                    .or_else(|| state.normal.pop_front())
                {
                    break job;
                }
                if state.closed {
                    return;
                }
                state = shared.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A panicking job must not shrink the pool: its caller sees the answer channel
        // close (an internal error) and the thread goes on.
        let run = std::panic::AssertUnwindSafe(|| job(&mut worker));
        if std::panic::catch_unwind(run).is_err() {
            tracing::error!("a password hashing job panicked");
        }
    }
}
