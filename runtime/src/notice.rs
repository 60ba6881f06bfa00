//! One line on stderr, once per process, for set-up mistakes a newcomer would otherwise not
//! see: `tracing` says nothing without a subscriber, and a new application often has none.
//!
//! Each notice goes to `tracing` as well, every time its caller decides (the callers log
//! through their own limits); stderr gets it once, so a router without the layer does not
//! write a line per request.

use std::fmt::Display;
use std::sync::Once;

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
}

/// The warning for an instance built in a debug build, or `None` when there is none to give:
/// a release build (no `debug_assertions` in this crate), or `CENTURION_NO_DEBUG_WARNING` set
/// to anything but empty or `0`.
///
/// `debug_assertions` of this crate stands in for argon2's opt-level, which nothing at build
/// or run time reveals without timing a hash: an application that has the profile override
/// says so by setting the variable (this repository does, in `.cargo/config.toml`).
pub(crate) fn debug_build_warning(
    debug_assertions: bool,
    silenced: Option<&std::ffi::OsStr>,
) -> Option<&'static str> {
    let silenced = silenced.is_some_and(|value| !value.is_empty() && value != "0");
    (debug_assertions && !silenced).then_some(
        "debug build: password hashing (argon2) runs about 30x slower (0.5-1 s per login) \
         unless the application's Cargo.toml has `[profile.dev.package.argon2] opt-level = 3` \
         and `[profile.dev.package.blake2] opt-level = 3`; with them in place, set \
         CENTURION_NO_DEBUG_WARNING=1 to silence this line",
    )
}

/// Gives the debug-build warning once per process (stderr and `tracing`) when there is one.
pub(crate) fn warn_if_debug_build() {
    let silenced = std::env::var_os(NO_DEBUG_WARNING);
    if let Some(warning) = debug_build_warning(cfg!(debug_assertions), silenced.as_deref()) {
        DEBUG_BUILD.emit(|| {
            eprintln!("centurion: {warning}");
            tracing::warn!("{warning}");
        });
    }
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
        let warning = debug_build_warning(true, None).expect("a debug build warns");
        assert!(warning.contains("[profile.dev.package.argon2] opt-level = 3"));
        assert!(warning.contains("[profile.dev.package.blake2] opt-level = 3"));
        assert!(warning.contains("CENTURION_NO_DEBUG_WARNING=1"));
    }

    #[test]
    fn the_debug_warning_is_for_debug_builds_unless_silenced() {
        assert!(debug_build_warning(false, None).is_none());
        assert!(debug_build_warning(true, Some(OsStr::new("1"))).is_none());
        assert!(debug_build_warning(true, Some(OsStr::new("yes"))).is_none());
        assert!(debug_build_warning(true, Some(OsStr::new("0"))).is_some());
        assert!(debug_build_warning(true, Some(OsStr::new(""))).is_some());
    }
}
