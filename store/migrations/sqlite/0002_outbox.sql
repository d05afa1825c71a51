-- Mail waiting to be sent. Rows are written in the same transaction as the
-- change that causes them (a sign-up, say), so no message is lost; a
-- background sender delivers them with retries and marks the outcome.
--
-- Times are TEXT 'YYYY-MM-DD HH:MM:SS.SSS' in UTC, the format strftime('%f')
-- writes, so they compare correctly as text. A row is due when it is neither
-- sent nor failed and next_attempt_at has passed; claiming a row for sending
-- pushes next_attempt_at forward (a lease), so a sender that dies mid-send
-- leaves the row to be retried once the lease runs out.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE, -- reused on every attempt, so receivers can drop duplicates
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,        -- emptied once sent: bodies carry one-time links
    html_body       TEXT    NOT NULL,
    created_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    attempts        INTEGER NOT NULL DEFAULT 0, -- delivery attempts started
    next_attempt_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    sent_at         TEXT,                    -- set once the SMTP server accepted the message
    failed_at       TEXT,                    -- set on permanent failure
    last_error      TEXT    NOT NULL DEFAULT '',
    CHECK (sent_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_failed ON outbox (failed_at) WHERE failed_at IS NOT NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
