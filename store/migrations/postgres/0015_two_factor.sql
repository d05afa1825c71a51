-- See store/migrations/sqlite/0015_two_factor.sql.
CREATE TABLE totp_factors (
    user_id      bigint NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       bytea  NOT NULL,
    last_step    bigint NOT NULL,
    enabled_at   text   NOT NULL,
    fails        integer NOT NULL DEFAULT 0,
    fails_since  text,
    frozen_until text
);

CREATE TABLE recovery_codes (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea  NOT NULL,
    used_at   text,
    PRIMARY KEY (user_id, code_hash)
);
