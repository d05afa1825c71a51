-- See store/migrations/sqlite/0028_shares.sql.
CREATE TABLE shelf_shares (
    share_key  text   NOT NULL PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    shelf      text   NOT NULL CHECK (shelf IN ('want-to-read', 'reading', 'read')),
    created_at text   NOT NULL,
    UNIQUE (user_id, shelf)
);

CREATE TABLE share_cards (
    kind       text  NOT NULL,
    ref        text  NOT NULL,
    version    text  NOT NULL,
    png        bytea NOT NULL,
    created_at text  NOT NULL,
    PRIMARY KEY (kind, ref, version)
);
CREATE INDEX share_cards_created ON share_cards (created_at);
