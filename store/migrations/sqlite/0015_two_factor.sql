-- A second factor: authenticator-app codes (TOTP) and recovery codes.
-- The TOTP secret is sealed (package sealed: AES-256-GCM under a key kept
-- outside the database, bound to the account); recovery codes are kept as
-- keyed hashes (HMAC-SHA256 under that key). A stolen database alone
-- reveals neither.
CREATE TABLE totp_factors (
    user_id      INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       BLOB    NOT NULL, -- sealed
    last_step    INTEGER NOT NULL, -- the latest time step used: no code at or before it works again
    enabled_at   TEXT    NOT NULL,
    fails        INTEGER NOT NULL DEFAULT 0, -- wrong codes since fails_since, from any address
    fails_since  TEXT,
    frozen_until TEXT              -- too many wrong codes: the second step refuses every code until then
);

CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
);
