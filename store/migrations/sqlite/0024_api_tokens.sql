-- Personal access tokens for the JSON API. Only the SHA-256 of a token is
-- kept (hash); prefix is its first characters, to tell tokens apart on the
-- account page. scopes is a space-separated list of store/apitokens scopes.
-- last_used_at and last_used_from are written at most once a minute per
-- token, not on every request.
CREATE TABLE api_tokens (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash           BLOB    NOT NULL UNIQUE,
    prefix         TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    last_used_at   TEXT,
    last_used_from TEXT    NOT NULL DEFAULT '',
    revoked_at     TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

-- The version of an account's tokens: every access token (JWT) issued
-- carries it, and one that carries an older version is refused. Revoking
-- all of an account's tokens (a password reset does) bumps it.
CREATE TABLE api_token_versions (
    user_id INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    version INTEGER NOT NULL
);
