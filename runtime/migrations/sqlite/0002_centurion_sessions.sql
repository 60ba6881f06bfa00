-- centurion (SQLite): one row per session (login), rewritten in place by every refresh, so the
-- table grows with live sessions, not with refreshes. `family` is the `fam` claim of the
-- session's tokens; `id` the public id shown to its user. Times: `*_ms` Unix
-- milliseconds, `expires_at` and `live_until` Unix seconds; rows whose `live_until` has
-- passed are purged. `successor` holds the claims (never the signatures) of the pair the
-- last refresh minted, for the refresh grace window.
--
-- centurion_revocations gains the kind 'sessions' (a user's sessions' not-before, set when
-- a user ends all their sessions or all but one); refresh tokens no longer write 'spent'
-- rows and logouts no longer write 'family' rows (rows left by older releases expire and
-- are purged as before).
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
