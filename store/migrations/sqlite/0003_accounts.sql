-- Accounts. email is stored normalised (trimmed, domain lower-cased) and is
-- unique regardless of ASCII case, so two people cannot hold Ann@x.org and
-- ann@x.org; concurrent sign-ups with one address yield exactly one row.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (email <> '' AND length(email) <= 254),
    password_hash TEXT    NOT NULL,                 -- PHC string, $argon2id$...
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    TEXT    NOT NULL,
    confirmed_at  TEXT                               -- NULL until the address is confirmed
);

-- One-time links sent by mail. Only the SHA-256 of a token is stored, so a
-- copy of the database cannot be used to confirm or reset anything. Rows are
-- kept after use (used_at) so a reused link gets an accurate answer; issuing
-- a new link for the same purpose supersedes the older unused ones.
CREATE TABLE user_tokens (
    hash          BLOB    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose       TEXT    NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    resent        INTEGER NOT NULL DEFAULT 0,        -- 1 when asked for with "Resend" (counted for limits)
    created_at    TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    used_at       TEXT,
    superseded_at TEXT
) WITHOUT ROWID;
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose, created_at);

-- scs sessions. token is the SHA-256 of the cookie value (scs
-- HashTokenInStore); expiry is Unix milliseconds; user_id is copied out of the
-- session data on every commit so all of an account's sessions can be ended.
CREATE TABLE sessions (
    token   TEXT    PRIMARY KEY,
    data    BLOB    NOT NULL,
    expiry  INTEGER NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expiry);
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;
