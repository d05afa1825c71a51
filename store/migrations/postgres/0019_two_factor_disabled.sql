-- See store/migrations/sqlite/0019_two_factor_disabled.sql.
ALTER TABLE totp_factors ADD COLUMN disabled_at text;
