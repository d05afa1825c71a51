-- Short links: see sqlite/0026_links.sql.
CREATE TABLE links (
    folded     text    NOT NULL PRIMARY KEY,
    id         text    NOT NULL,
    owner_id   bigint  NOT NULL REFERENCES users (id),
    target     text    NOT NULL,
    external   integer NOT NULL,
    created_at text    NOT NULL,
    disabled   integer NOT NULL DEFAULT 0,
    deleted_at text,
    clicks     bigint  NOT NULL DEFAULT 0
);
CREATE INDEX links_owner ON links (owner_id, created_at);

CREATE TABLE link_clicks (
    link   text   NOT NULL,
    day    text   NOT NULL,
    clicks bigint NOT NULL,
    PRIMARY KEY (link, day)
);
