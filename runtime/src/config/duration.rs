//! Durations in configuration files: `15m`, `30d`, `1h30m`, `2s`, `500ms` (humantime
//! syntax), or a number of seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses a duration written as `15m`, `30d`, `1h30m`, `2s` or `500ms`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(centurion::config::parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert!(centurion::config::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("`{text}` is not a duration ({e}); write e.g. `15m`, `30d` or `1h30m`")
    })
}

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Seconds(u64),
    }
    match Repr::deserialize(d)? {
        Repr::Text(text) => parse_duration(&text).map_err(serde::de::Error::custom),
        Repr::Seconds(secs) => Ok(Duration::from_secs(secs)),
    }
}

pub(super) fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}
