-- Mail caught by the dev inbox (no SHELF_SMTP_URL): every instance's
-- /dev/mail reads it here, whichever instance's sender delivered it. The
-- newest few hundred are kept. id numbers the messages and is never reused.
-- received_at is in the outbox's format (see 0002_outbox.sql).
CREATE TABLE dev_mail (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at   TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    envelope_to   TEXT NOT NULL, -- one address a line
    raw           BLOB NOT NULL  -- the message as received
);
