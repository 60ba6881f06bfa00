-- centurion: ids that are not integers (PostgreSQL).
--
-- A user type whose id is a UUID or a string (`UserRecord::id_kind`) is identified by
-- `uid`: the id the store generates for it (a random UUID, in its hyphenated lower-case
-- form) or the one an import gives. Integer ids keep using `id`, and their rows leave
-- `uid` NULL, which the unique index lets repeat: databases of integer ids are unchanged.

ALTER TABLE centurion_users ADD COLUMN uid TEXT NULL;

CREATE UNIQUE INDEX IF NOT EXISTS centurion_users_uid_uq
    ON centurion_users (uid);
