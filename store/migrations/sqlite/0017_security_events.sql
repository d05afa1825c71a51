-- Security events (a sign-in from a new device, a password reset, 2FA or a
-- passkey changed…): each is mailed to the account's owner with a "This
-- wasn't me" link. undo_hash is the SHA-256 of that link's token, which is
-- single use (undo_used_at) and expires at undo_expires_at. Times are in
-- the accounts' format ('YYYY-MM-DD HH:MM:SS.SSS' UTC). details are shown to
-- the owner; ref names what the event acted on (a passkey's credential id),
-- for the kind's undo hook, and is never shown.
CREATE TABLE security_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    details         TEXT    NOT NULL DEFAULT '',
    ref             TEXT    NOT NULL DEFAULT '', -- what it acted on, for its undo hook
    created_at      TEXT    NOT NULL,
    ip              TEXT    NOT NULL DEFAULT '',
    browser         TEXT    NOT NULL DEFAULT '',
    device          TEXT    NOT NULL DEFAULT '',
    undo_hash       BLOB    NOT NULL UNIQUE,
    undo_expires_at TEXT    NOT NULL,
    undo_used_at    TEXT
);
CREATE INDEX security_events_user ON security_events (user_id, created_at);

-- Set by "This wasn't me": password sign-in is refused until a reset link
-- is used. NULL when not blocked.
ALTER TABLE users ADD COLUMN password_blocked_at TEXT;

-- What "Where you're signed in" lists, copied out of the session data on
-- each commit, like user_id: the client's address and browser, and when the
-- session was last used (Unix milliseconds, refreshed at most once a minute).
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN browser TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN seen_at INTEGER NOT NULL DEFAULT 0;
