-- Rate limits (package limits): see sqlite/0012_rate_limits.sql.

CREATE TABLE limiter_hits (
    name       text   NOT NULL,
    key        bytea  NOT NULL,
    hits       bytea,
    expires_at bigint NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE INDEX limiter_hits_expiry ON limiter_hits (name, expires_at);

CREATE TABLE backoffs (
    name       text    NOT NULL,
    key        bytea   NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    started_at bigint  NOT NULL DEFAULT 0,
    last_at    bigint  NOT NULL DEFAULT 0,
    expires_at bigint  NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE INDEX backoffs_expiry ON backoffs (name, expires_at);
