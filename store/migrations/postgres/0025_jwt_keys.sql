-- See store/migrations/sqlite/0025_jwt_keys.sql.
CREATE TABLE jwt_keys (
    kid             text  NOT NULL PRIMARY KEY,
    private_key     bytea NOT NULL,
    public_key      bytea NOT NULL,
    created_at      text  NOT NULL,
    signs_until     text  NOT NULL,
    published_until text  NOT NULL
);
