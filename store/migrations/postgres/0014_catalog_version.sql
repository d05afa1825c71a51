-- See store/migrations/sqlite/0014_catalog_version.sql. On PostgreSQL the
-- transaction that adds one to version also sends NOTIFY shelf_catalog, so
-- every serving instance rebuilds its search index once it commits.
ALTER TABLE catalog_state ADD COLUMN version bigint NOT NULL DEFAULT 0;
