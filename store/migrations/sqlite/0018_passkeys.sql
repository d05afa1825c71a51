-- Passkeys (package passkeys). Each account that registers one gets a user
-- handle: 32 random bytes the authenticator stores with its credentials and
-- returns at sign-in. It is never the account id or the address, so a
-- passkey tells nothing about the account it opens.
CREATE TABLE webauthn_handles (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  BLOB    NOT NULL UNIQUE CHECK (length(handle) = 32)
);

-- One row per registered credential. sign_count is the authenticator's
-- signature counter as last seen (0 for synced passkeys, which do not
-- count); backup_eligible and backup_state are the BE and BS flags.
CREATE TABLE passkeys (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB    NOT NULL UNIQUE,
    public_key      BLOB    NOT NULL,
    name            TEXT    NOT NULL CHECK (name <> '' AND length(name) <= 64),
    sign_count      INTEGER NOT NULL DEFAULT 0,
    backup_eligible INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
    backup_state    INTEGER NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
    aaguid          BLOB    NOT NULL,
    transports      TEXT    NOT NULL DEFAULT '', -- comma-separated: usb,nfc,ble,internal,hybrid
    attestation_fmt TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    last_used_at    TEXT
);
CREATE INDEX passkeys_user ON passkeys (user_id);
