-- When the account's password was last changed (a reset): device cookies
-- issued before then no longer exempt their browser from the sign-in and
-- reset limits, so whoever signed in with the old password keeps no
-- trusted device. NULL when the password was never changed.
ALTER TABLE users ADD COLUMN devices_valid_after TEXT;
