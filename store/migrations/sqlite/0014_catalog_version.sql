-- version counts the changes to books: every transaction that changes them
-- adds one. A search index built from version N is up to date while the
-- catalog is still at N, so an instance that may have missed a change (its
-- PostgreSQL LISTEN connection dropped) rebuilds only when it did.
ALTER TABLE catalog_state ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
