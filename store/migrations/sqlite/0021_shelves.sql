-- Readers' shelves: one row per reader and book, on exactly one shelf, with
-- an optional rating (0 = none) and private note. Times are UTC text
-- 'YYYY-MM-DD HH:MM:SS.SSS', computed in Go. book_id is indexed so that
-- deleting books (staged imports clear theirs) need not scan every entry.
CREATE TABLE shelf_entries (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id    INTEGER NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    shelf      TEXT    NOT NULL CHECK (shelf IN ('want-to-read', 'reading', 'read')),
    rating     INTEGER NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    note       TEXT    NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    added_at   TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, book_id)
) WITHOUT ROWID;
CREATE INDEX shelf_entries_book ON shelf_entries (book_id);
