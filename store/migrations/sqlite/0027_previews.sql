-- Page previews of external links (package previews): a screenshot, title
-- and description per URL, keyed by the hex SHA-256 of the URL, captured in
-- the background. A row is also its capture job: 'pending' rows are due at
-- next_attempt_at; a worker claims one by setting lease_until (and
-- claimed_by), and a claim whose lease lapsed (its worker died) is due
-- again. attempts counts claims; error says why the last attempt failed.
CREATE TABLE previews (
    key             TEXT    PRIMARY KEY,
    url             TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    title           TEXT    NOT NULL DEFAULT '',
    description     TEXT    NOT NULL DEFAULT '',
    final_url       TEXT    NOT NULL DEFAULT '',
    image           BLOB,
    etag            TEXT    NOT NULL DEFAULT '',
    width           INTEGER NOT NULL DEFAULT 0,
    height          INTEGER NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    lease_until     TEXT    NOT NULL DEFAULT '',
    claimed_by      TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX previews_due ON previews (next_attempt_at) WHERE status = 'pending';
