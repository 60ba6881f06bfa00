-- centurion: identity keys and unconfirmed registrations (PostgreSQL).
--
-- `username_key` and `email_key` hold the normal form of the username and the e-mail
-- address (centurion::identity: Unicode toNFKC_Casefold, UTS 46 domains), computed by
-- centurion in Rust and compared byte for byte (COLLATE "C"), so the result never depends
-- on the database's locale or collation. Rows that existed before this migration get
-- their keys from the back-fill centurion runs at start-up (SqlUserStore); NULL keys never
-- conflict. `pending_since_ms` is set for an unconfirmed registration (milliseconds since
-- the Unix epoch, on the instance's clock) and cleared when it is confirmed.

ALTER TABLE centurion_users ADD COLUMN IF NOT EXISTS username_key TEXT COLLATE "C" NULL;
ALTER TABLE centurion_users ADD COLUMN IF NOT EXISTS email_key TEXT COLLATE "C" NULL;
ALTER TABLE centurion_users ADD COLUMN IF NOT EXISTS pending_since_ms BIGINT NULL;

-- The case-insensitive index of 0001 compared with lower(), which depends on the
-- database's locale (it maps İ to i): the rule this replaces.
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
