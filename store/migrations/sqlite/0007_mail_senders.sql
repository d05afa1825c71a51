-- Who is sending which mail. Each running sender has a row here that it
-- renews every few seconds (a heartbeat): alive_until is the time of the
-- last renewal plus its lease. A claimed outbox row names its sender in
-- claimed_by, and the claim holds while that sender's alive_until is in the
-- future: a live sender keeps its claims however long a send takes, and the
-- claims of a sender that died are due again as soon as its lease lapses
-- (seconds), for this process after a restart or for any other instance.
-- Times are in the outbox's format (see 0002_outbox.sql).
CREATE TABLE mail_senders (
    id          TEXT PRIMARY KEY,
    alive_until TEXT NOT NULL
) WITHOUT ROWID;

ALTER TABLE outbox ADD COLUMN claimed_by TEXT; -- a mail_senders id, or NULL when not claimed
