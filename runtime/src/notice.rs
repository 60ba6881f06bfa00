//! One line on stderr, once per process, for set-up mistakes a newcomer would otherwise not
//! see: `tracing` says nothing without a subscriber, and a new application often has none.
//!
//! Each notice goes to `tracing` as well, every time its caller decides (the callers log
//! through their own limits); stderr gets it once, so a router without the layer does not
//! write a line per request.

use std::fmt::Display;
use std::sync::Once;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The environment variable that silences [`DEBUG_BUILD`] (any value but empty or `0`).
pub(crate) const NO_DEBUG_WARNING: &str = "CENTURION_NO_DEBUG_WARNING";

/// A line printed at most once per process.
pub(crate) struct Notice {
    once: Once,
}

/// A secured route reached without the `Centurion` layer.
pub(crate) static MISSING_LAYER: Notice = Notice::new();

/// `CurrentUser<U>` or `Centurion<U>` asked for where the layer carries another user type.
pub(crate) static OTHER_USER_TYPE: Notice = Notice::new();

/// An instance built in a debug build, where argon2 may run unoptimized.
pub(crate) static DEBUG_BUILD: Notice = Notice::new();

impl Notice {
    const fn new() -> Self {
        Self { once: Once::new() }
    }

    /// Prints `centurion: {line}` on stderr the first time it is called on this notice;
    /// `true` when it printed.
    pub(crate) fn print(&self, line: impl Display) -> bool {
        self.emit(|| eprintln!("centurion: {line}"))
    }

    /// Runs `write` the first time it is called on this notice; `true` when it ran.
    fn emit(&self, write: impl FnOnce()) -> bool {
        let mut ran = false;
        self.once.call_once(|| {
            write();
            ran = true;
        });
        ran
    }

    /// The first time it is called on this notice, asks `decide` whether there is anything
    /// to write, and writes it; later calls do nothing (not even decide).
    fn emit_if<W: FnOnce()>(&self, decide: impl FnOnce() -> Option<W>) {
        self.once.call_once(|| {
            if let Some(write) = decide() {
                write();
            }
        });
    }
}

/// Above this, the probe hash ran unoptimized: optimized it takes about 0.08 ms, unoptimized
/// about 4.5 ms (both measured on a 2-core VM), so the bound is twelve times the first and
/// under a quarter of the second.
const UNOPTIMIZED: Duration = Duration::from_millis(1);

/// The fastest of up to five argon2id hashes of 256 KiB and one pass, stopping at the first
/// under [`UNOPTIMIZED`]: one run when argon2 is optimized, about 25 ms in all when not, and
/// a single slow run (the thread descheduled) is not taken for unoptimized code.
fn probe_hash_time() -> Duration {
    let Ok(params) = Params::new(256, 1, 1, Some(32)) else {
        return Duration::ZERO;
    };
    let mut memory = vec![Block::default(); params.block_count()];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    let mut fastest = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        if argon
            .hash_password_into_with_memory(
                b"probe",
                b"centurion-probe!",
                &mut out,
                &mut memory[..],
            )
            .is_err()
        {
            return Duration::ZERO;
        }
        fastest = fastest.min(started.elapsed());
        if fastest <= UNOPTIMIZED {
            break;
        }
    }
    fastest
}

/// The warning for an instance built in a debug build where argon2 runs unoptimized, or
/// `None` when there is none to give: a release build (no `debug_assertions` in this
/// crate), `CENTURION_NO_DEBUG_WARNING` set to anything but empty or `0`, or a `probe` (a
/// small hash, timed; only run when the first two allow a warning) fast enough for
/// optimized code: the application has the profile override.
pub(crate) fn debug_build_warning(
    debug_assertions: bool,
    silenced: Option<&std::ffi::OsStr>,
    probe: impl FnOnce() -> Duration,
) -> Option<&'static str> {
    let silenced = silenced.is_some_and(|value| !value.is_empty() && value != "0");
    (debug_assertions && !silenced && probe() > UNOPTIMIZED).then_some(
        "debug build: password hashing (argon2) runs unoptimized, about 50x slower (0.5-1 s \
         per login): add `[profile.dev.package.argon2] opt-level = 3` and \
         `[profile.dev.package.blake2] opt-level = 3` to the application's Cargo.toml \
         (CENTURION_NO_DEBUG_WARNING=1 silences this line)",
    )
}

/// Gives the debug-build warning once per process (stderr and `tracing`) when there is one;
/// the probe runs at most once per process too.
pub(crate) fn warn_if_debug_build() {
    DEBUG_BUILD.emit_if(|| {
        let silenced = std::env::var_os(NO_DEBUG_WARNING);
        let warning =
            debug_build_warning(cfg!(debug_assertions), silenced.as_deref(), probe_hash_time)?;
        Some(move || {
            eprintln!("centurion: {warning}");
            tracing::warn!("{warning}");
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn a_notice_runs_once_whoever_calls_it() {
        let notice = Notice::new();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let ran: Vec<bool> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        notice.emit(|| {
                            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(ran.iter().filter(|ran| **ran).count(), 1);
        assert!(!notice.emit(|| panic!("a second emission")));
    }

    #[test]
    fn the_debug_warning_names_the_override_and_its_silencer() {
        let slow = || Duration::from_millis(5);
        let warning = debug_build_warning(true, None, slow).expect("a debug build warns");
        assert!(warning.contains("[profile.dev.package.argon2] opt-level = 3"));
        assert!(warning.contains("[profile.dev.package.blake2] opt-level = 3"));
        assert!(warning.contains("CENTURION_NO_DEBUG_WARNING=1"));
    }

    #[test]
    fn the_debug_warning_is_for_unoptimized_hashing_in_debug_builds_unless_silenced() {
        let slow = || Duration::from_millis(5);
        let fast = || Duration::from_micros(100);
        assert!(
            debug_build_warning(true, None, fast).is_none(),
            "the override is in place"
        );
        assert!(debug_build_warning(false, None, slow).is_none());
        assert!(debug_build_warning(true, Some(OsStr::new("1")), slow).is_none());
        assert!(debug_build_warning(true, Some(OsStr::new("yes")), slow).is_none());
        assert!(debug_build_warning(true, Some(OsStr::new("0")), slow).is_some());
        assert!(debug_build_warning(true, Some(OsStr::new("")), slow).is_some());
        // The probe runs only when a warning is otherwise due.
        let never = || -> Duration { panic!("probed") };
        assert!(debug_build_warning(false, None, never).is_none());
        assert!(debug_build_warning(true, Some(OsStr::new("1")), never).is_none());
    }

    #[test]
    fn the_decision_is_made_once_per_notice() {
        let notice = Notice::new();
        let decided = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..3 {
            notice.emit_if(|| {
                decided.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                None::<fn()>
            });
        }
        assert_eq!(decided.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
