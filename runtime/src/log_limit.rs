//! [`LogLimiter`]: at most one log line per interval for a failure that repeats, with the
//! count of the lines it held back, so an outage of a store writes a few lines, not one or
//! two per request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a repeated failure is logged at most.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// Lets one log line through per interval and counts the others.
pub(crate) struct LogLimiter {
    every: Duration,
    state: Mutex<State>,
}

struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    /// A limiter letting one line through per `every`.
    pub(crate) const fn new(every: Duration) -> Self {
        Self {
            every,
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// Whether to write the line now: `Some(n)` with the number of lines held back since
    /// the last one written, or `None` (and the line is counted).
    pub(crate) fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    /// [`allow`](Self::allow) at `now`.
    pub(crate) fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                state.suppressed += 1;
                None
            }
            _ => {
                state.last = Some(now);
                Some(std::mem::take(&mut state.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_of_the_others() {
        let limiter = LogLimiter::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(limiter.allow_at(start), Some(0));
        for ms in 1..=4000 {
            let at = start + Duration::from_millis(ms); // 4 000 failures in 4 s
            assert_eq!(limiter.allow_at(at), None);
        }
        assert_eq!(
            limiter.allow_at(start + Duration::from_secs(10)),
            Some(4000),
            "the next line says how many were held back"
        );
        assert_eq!(limiter.allow_at(start + Duration::from_secs(11)), None);
        assert_eq!(limiter.allow_at(start + Duration::from_secs(25)), Some(1));
    }
}
