//! Moving from Flask (feature `legacy`): the password hashes flask-praetorian (passlib)
//! and werkzeug wrote, verified on the hashing pool with cost caps and replaced by argon2id
//! at the next login. Their tokens are a token source in [`crate::jwt`]; the settings are
//! [`LegacyConfig`](crate::config::LegacyConfig). The guide is
//! `docs/MIGRATING-FROM-FLASK.md`.

pub(crate) mod hashes;
