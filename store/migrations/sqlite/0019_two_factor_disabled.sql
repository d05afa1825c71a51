-- Turning two-factor sign-in off keeps the sealed secret and the recovery
-- codes' hashes for a week (disabled_at set), so that "This wasn't me" in
-- the mail about it can turn it back on as it was. A disabled factor signs
-- nothing in; one disabled more than a week ago is deleted.
ALTER TABLE totp_factors ADD COLUMN disabled_at TEXT;
