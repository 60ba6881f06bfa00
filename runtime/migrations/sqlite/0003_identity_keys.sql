-- centurion: identity keys and unconfirmed registrations (SQLite).
--
-- `username_key` and `email_key` hold the normal form of the username and the e-mail
-- address (centurion::identity: Unicode toNFKC_Casefold, UTS 46 domains), computed by
-- centurion in Rust and compared byte for byte, so the result never depends on a database
-- function or locale. Rows that existed before this migration get their keys from the
-- back-fill centurion runs at start-up (SqlUserStore); NULL keys never conflict.
-- `pending_since_ms` is set for an unconfirmed registration (milliseconds since the Unix
-- epoch, on the instance's clock) and cleared when it is confirmed.

ALTER TABLE centurion_users ADD COLUMN username_key TEXT NULL;
ALTER TABLE centurion_users ADD COLUMN email_key TEXT NULL;
ALTER TABLE centurion_users ADD COLUMN pending_since_ms BIGINT NULL;

-- The case-insensitive index of 0001 compared with lower(), the rule this replaces.
DROP INDEX IF EXISTS centurion_users_email_key;

CREATE UNIQUE INDEX IF NOT EXISTS centurion_users_username_key_uq
    ON centurion_users (username_key);
CREATE UNIQUE INDEX IF NOT EXISTS centurion_users_email_key_uq
    ON centurion_users (email_key);
CREATE INDEX IF NOT EXISTS centurion_users_pending
    ON centurion_users (pending_since_ms) WHERE pending_since_ms IS NOT NULL;

-- Centurion's own settings of the database, e.g. which definition the keys were made with.
CREATE TABLE IF NOT EXISTS centurion_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
