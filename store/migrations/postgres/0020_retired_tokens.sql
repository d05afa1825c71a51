-- Confirmation links of sign-ups that changed their address: see
-- sqlite/0020_retired_tokens.sql.

CREATE TABLE retired_tokens (
    hash       bytea PRIMARY KEY,
    purpose    text  NOT NULL,
    expires_at text  NOT NULL
);
CREATE INDEX retired_tokens_expiry ON retired_tokens (expires_at);
