-- Imports stage their books in many small transactions, so that other
-- writers get the database between them, and publish them in one short one.
-- staged_from is the first id of the books an import has staged and not yet
-- published, NULL when there are none: readers see only books with lower
-- ids (see visibleIDs in catalog.go), and the index trigger leaves staged
-- books to the importer, which indexes each batch in rowid order.
CREATE TABLE catalog_state (
    one         INTEGER PRIMARY KEY CHECK (one = 1),
    staged_from INTEGER
);
INSERT INTO catalog_state (one, staged_from) VALUES (1, NULL);

DROP TRIGGER books_search_insert;
CREATE TRIGGER books_search_insert AFTER INSERT ON books
WHEN new.id < (SELECT coalesce(staged_from, 16777216) FROM catalog_state) BEGIN
    INSERT INTO book_search (rowid, title, authors)
    VALUES ((new.ratings_count << 24) | (16777215 - new.id), new.title, new.authors);
END;
