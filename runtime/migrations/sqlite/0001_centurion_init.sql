-- centurion: users and revocations (SQLite).
-- Applied by centurion itself on start; its bookkeeping lives in `_centurion_migrations`,
-- so it never mixes with an application's own sqlx migrations.

CREATE TABLE IF NOT EXISTS centurion_users (
    -- AUTOINCREMENT: an id is never handed out twice, so a token of a deleted user can
    -- never name a later one.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT    NULL,
    password_hash TEXT    NOT NULL,
    -- JSON array of role names, e.g. '["admin","editor"]'.
    roles         TEXT    NOT NULL DEFAULT '[]',
    active        BOOLEAN NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- E-mail addresses are unique case-insensitively; NULL may repeat.
CREATE UNIQUE INDEX IF NOT EXISTS centurion_users_email_key
    ON centurion_users (lower(email));

-- One row per revoked token ('token'), revoked refresh family ('family'), per-user
-- not-before ('user') and spent single-use token ('spent'). `expires_at` is Unix seconds;
-- expired rows are purged.
CREATE TABLE IF NOT EXISTS centurion_revocations (
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    not_before_ms BIGINT  NOT NULL DEFAULT 0,
    expires_at    BIGINT  NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE INDEX IF NOT EXISTS centurion_revocations_expiry
    ON centurion_revocations (expires_at);
