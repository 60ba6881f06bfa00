-- centurion: the revocation store's tables alone (PostgreSQL), for SqlRevocationStore in a
-- database whose users live elsewhere. Recorded in `_centurion_revocation_migrations`.
-- The definitions are those of the user store's migrations 0001 and 0002, which create the
-- same tables (IF NOT EXISTS), so a database migrated by either set has the same tables.

CREATE TABLE IF NOT EXISTS centurion_revocations (
    kind          TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    not_before_ms BIGINT NOT NULL DEFAULT 0,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE INDEX IF NOT EXISTS centurion_revocations_expiry
    ON centurion_revocations (expires_at);

CREATE TABLE IF NOT EXISTS centurion_sessions (
    family           TEXT   NOT NULL PRIMARY KEY,
    id               TEXT   NOT NULL UNIQUE,
    subject          TEXT   NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    stamp_ms         BIGINT NOT NULL,
    last_used_at_ms  BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    live_until       BIGINT NOT NULL,
    generation       BIGINT NOT NULL,
    rotated_at_ms    BIGINT NOT NULL,
    successor        TEXT   NULL,
    login_user_agent TEXT   NULL,
    login_ip         TEXT   NULL,
    last_user_agent  TEXT   NULL,
    last_ip          TEXT   NULL,
    label            TEXT   NULL
);

CREATE INDEX IF NOT EXISTS centurion_sessions_subject
    ON centurion_sessions (subject, created_at_ms);

CREATE INDEX IF NOT EXISTS centurion_sessions_live
    ON centurion_sessions (live_until);
