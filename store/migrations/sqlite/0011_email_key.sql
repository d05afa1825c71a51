-- Addresses are unique regardless of case in every script, not only ASCII
-- (users.email's COLLATE NOCASE): email_key is the address case-folded
-- (store.CaseFold, registered as casefold() for this migration), written by
-- every insert and used by every look-up by address.
ALTER TABLE users ADD COLUMN email_key TEXT;
UPDATE users SET email_key = casefold(email);
-- Accounts made before this migration may already collide (Émile@ and
-- émile@): the oldest keeps the key; a later one gets a key no address can
-- fold to (it holds a NUL, which addresses never contain), so it can no
-- longer be found by address, only by id.
UPDATE users SET email_key = email_key || char(0) || id
WHERE EXISTS (SELECT 1 FROM users older WHERE older.email_key = users.email_key AND older.id < users.id);
CREATE UNIQUE INDEX users_email_key ON users (email_key);
