-- Short links (store/links). folded is the id in lower case, the key every
-- lookup uses, so ids differ by more than case; id is as the owner typed it.
-- A deleted link keeps its row (deleted_at set) so its id is never given out
-- again: a printed QR code must not start pointing somewhere else. Owners
-- are not cascaded for the same reason (only unconfirmed accounts, which
-- cannot make links, are ever deleted). clicks is the total as flushed.
CREATE TABLE links (
    folded     TEXT    NOT NULL PRIMARY KEY,
    id         TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES users (id),
    target     TEXT    NOT NULL,
    external   INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0,
    deleted_at TEXT,
    clicks     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX links_owner ON links (owner_id, created_at);

-- Clicks per link (folded id) and UTC day ('YYYY-MM-DD'), added to in
-- batches by every process that serves the link.
CREATE TABLE link_clicks (
    link   TEXT    NOT NULL,
    day    TEXT    NOT NULL,
    clicks INTEGER NOT NULL,
    PRIMARY KEY (link, day)
);
