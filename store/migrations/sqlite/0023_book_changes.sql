-- The catalog's audit trail: every book an admin adds or edits, who did it
-- (the account, and its address at the time, which outlives the account),
-- when, and the changed fields before and after, as JSON objects of the
-- form's field names ("title", "authors", "isbn", "year", "language") to
-- their text. A row is written in the transaction that makes the change.
CREATE TABLE book_changes (
    id         INTEGER PRIMARY KEY,
    book_id    INTEGER NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    user_email TEXT    NOT NULL,
    changed_at TEXT    NOT NULL,
    action     TEXT    NOT NULL CHECK (action IN ('create', 'edit')),
    before     TEXT    NOT NULL,
    after      TEXT    NOT NULL
);
CREATE INDEX book_changes_book ON book_changes (book_id, id);

-- The duplicate warning of the book form looks up titles equal to the one
-- typed, ignoring case, whatever their ISBN (see catalog.Duplicates).
CREATE INDEX books_title_lower ON books (lower(title));
