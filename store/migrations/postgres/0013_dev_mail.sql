-- Mail caught by the dev inbox: see migrations/sqlite/0013_dev_mail.sql.
CREATE TABLE dev_mail (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at   text  NOT NULL,
    envelope_from text  NOT NULL,
    envelope_to   text  NOT NULL,
    raw           bytea NOT NULL
);
