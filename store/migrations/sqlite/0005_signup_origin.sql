-- Where an account was created from, shown on its confirmation page so the
-- owner of the address can tell a sign-up of their own from someone else's:
-- the client's IP address and a short summary of its browser ("Firefox on
-- Linux"), never the raw User-Agent.
ALTER TABLE users ADD COLUMN created_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN created_browser TEXT NOT NULL DEFAULT '';
-- When the owner was last told that someone tried to sign up with their
-- address; at most one such mail an hour.
ALTER TABLE users ADD COLUMN signup_notice_at TEXT;

-- Password-reset requests, recorded by the request (the same single insert
-- for every address, known or not) and handled by a background worker that
-- looks the address up, issues the token and enqueues the mail.
CREATE TABLE reset_requests (
    id           INTEGER PRIMARY KEY,
    email        TEXT    NOT NULL CHECK (length(email) <= 254),
    requested_at TEXT    NOT NULL
);
