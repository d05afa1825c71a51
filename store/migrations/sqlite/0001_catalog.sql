-- The catalog. dedupe_key makes re-importing the same rows a no-op: it is the
-- ISBN-13 when known, else the folded title and authors.
CREATE TABLE books (
    id             INTEGER PRIMARY KEY,
    title          TEXT    NOT NULL CHECK (title <> ''),
    authors        TEXT    NOT NULL,
    year           INTEGER,
    isbn13         TEXT,
    language       TEXT    NOT NULL DEFAULT '',
    average_rating REAL,
    ratings_count  INTEGER NOT NULL DEFAULT 0 CHECK (ratings_count >= 0),
    dedupe_key     TEXT    NOT NULL UNIQUE
);

-- Full-text index over title and authors. Contentless: the text lives in
-- books. Its rowid encodes popularity, (ratings_count << 24) | (16777215 - id),
-- so "ORDER BY rowid DESC" walks matches most popular first and a LIMIT stops
-- early instead of sorting every match. Ids must stay below 2^24.
-- Search treats the last word typed as a prefix: prefixes of up to 6
-- characters read one doclist from the prefix index; longer or unindexed
-- ones make FTS5 merge the doclists of every matching term first (about 6x
-- slower for "love"*), at the cost of a larger index (+60%).
CREATE VIRTUAL TABLE book_search USING fts5(
    title, authors,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3 4 5 6'
);

CREATE TRIGGER books_search_insert AFTER INSERT ON books BEGIN
    INSERT INTO book_search (rowid, title, authors)
    VALUES ((new.ratings_count << 24) | (16777215 - new.id), new.title, new.authors);
END;

CREATE TRIGGER books_search_delete AFTER DELETE ON books BEGIN
    DELETE FROM book_search WHERE rowid = (old.ratings_count << 24) | (16777215 - old.id);
END;

CREATE TRIGGER books_search_update AFTER UPDATE OF title, authors, ratings_count ON books BEGIN
    DELETE FROM book_search WHERE rowid = (old.ratings_count << 24) | (16777215 - old.id);
    INSERT INTO book_search (rowid, title, authors)
    VALUES ((new.ratings_count << 24) | (16777215 - new.id), new.title, new.authors);
END;

-- Every distinct indexed word with the number of books it appears in, read
-- into memory at start for typo and substring expansion. Refreshed after each
-- import from book_terms (scanning that at every start would be slow).
CREATE VIRTUAL TABLE book_terms USING fts5vocab(book_search, 'row');
CREATE TABLE search_terms (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;
