-- Confirmation links of sign-ups that changed their address before
-- confirming it. The account they were sent for is deleted, and its tokens
-- with it; their hashes stay here until the links would have expired, so
-- such a link says "this link no longer works" rather than "we do not
-- recognise this link".
CREATE TABLE retired_tokens (
    hash       BLOB PRIMARY KEY,
    purpose    TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX retired_tokens_expiry ON retired_tokens (expires_at);
