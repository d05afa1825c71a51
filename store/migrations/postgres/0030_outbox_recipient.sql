-- The newest message to an address (store/outbox.LatestRefused): the
-- check-your-mailbox page of a signed-in, unconfirmed reader asks every
-- 2 s, and refused mail is never pruned, so reading every message each
-- time would grow with the outbox.
CREATE INDEX outbox_recipient ON outbox (lower(recipient), id);
