-- Rate limits (package limits), shared by every process on this database
-- and kept across restarts. One row per limit (name) and key; key is the
-- SHA-256 of what is limited (a network, an address, a device cookie), so
-- no address is kept in clear. Times are Unix milliseconds. A reservation
-- reads and writes its row in one short transaction holding the row's
-- lock, so concurrent reservations of one key take turns. Rows past
-- expires_at say nothing any more and are swept.

-- Limiter: at most N events per key in a sliding window.
CREATE TABLE limiter_hits (
    name       TEXT    NOT NULL,
    key        BLOB    NOT NULL,
    hits       BLOB,             -- the counted events, oldest first: 8 bytes (big-endian Unix ms) each
    expires_at INTEGER NOT NULL, -- the newest event leaves the window
    PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE INDEX limiter_hits_expiry ON limiter_hits (name, expires_at);

-- Backoff: free attempts, then a doubling delay between attempts.
CREATE TABLE backoffs (
    name       TEXT    NOT NULL,
    key        BLOB    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0, -- counted attempts, reserved ones included
    started_at INTEGER NOT NULL DEFAULT 0, -- the first attempt since the key was last forgotten
    last_at    INTEGER NOT NULL DEFAULT 0, -- the latest attempt
    expires_at INTEGER NOT NULL,           -- the key is forgotten
    PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE INDEX backoffs_expiry ON backoffs (name, expires_at);
