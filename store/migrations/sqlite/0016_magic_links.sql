-- Sign-in by email (package store/magic). A request is recorded as is, the
-- same insert for every address, and handled off the request path, which
-- issues its sign-in: a link token and a code, mailed together.

-- Requests waiting for the worker. browser is the SHA-256 of the secret in
-- the asking browser's cookie, to which the code is bound.
CREATE TABLE magic_requests (
    id           INTEGER PRIMARY KEY,
    email        TEXT    NOT NULL CHECK (length(email) <= 254),
    browser      BLOB    NOT NULL,
    requested_at TEXT    NOT NULL
);

-- One row per handled request, also for an address without an account
-- (user_id NULL, nothing mailed), so a wrong code is answered the same
-- whether or not the address has one. address is the SHA-256 of the
-- case-folded address. link is the SHA-256 of the link's token; code the
-- SHA-256 of the browser binding and the code.
CREATE TABLE magic_tokens (
    link       BLOB    PRIMARY KEY,
    browser    BLOB    NOT NULL,
    address    BLOB    NOT NULL,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    code       BLOB    NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT,
    voided_at  TEXT
) WITHOUT ROWID;
CREATE INDEX magic_tokens_browser ON magic_tokens (browser);
CREATE INDEX magic_tokens_address ON magic_tokens (address, created_at);
CREATE INDEX magic_tokens_expiry ON magic_tokens (expires_at);

-- When an address without an account was last told so (once a day at most).
CREATE TABLE magic_notices (
    address BLOB PRIMARY KEY,
    sent_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX magic_notices_sent ON magic_notices (sent_at);
