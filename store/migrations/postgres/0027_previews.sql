-- Page previews of external links: see sqlite/0027_previews.sql.
CREATE TABLE previews (
    key             text    PRIMARY KEY,
    url             text    NOT NULL,
    status          text    NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    title           text    NOT NULL DEFAULT '',
    description     text    NOT NULL DEFAULT '',
    final_url       text    NOT NULL DEFAULT '',
    image           bytea,
    etag            text    NOT NULL DEFAULT '',
    width           integer NOT NULL DEFAULT 0,
    height          integer NOT NULL DEFAULT 0,
    error           text    NOT NULL DEFAULT '',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at text    NOT NULL,
    lease_until     text    NOT NULL DEFAULT '',
    claimed_by      text    NOT NULL DEFAULT '',
    created_at      text    NOT NULL,
    updated_at      text    NOT NULL
);
CREATE INDEX previews_due ON previews (next_attempt_at) WHERE status = 'pending';
