-- Server-side secrets, created on first use: the key that signs cookies
-- (CSRF for anonymous forms, device cookies) lives here so every process
-- using this database signs and verifies with the same one.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL CHECK (length(value) >= 32)
) WITHOUT ROWID;
