-- Readers' shelves: see sqlite/0021_shelves.sql.
CREATE TABLE shelf_entries (
    user_id    bigint  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id    bigint  NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    shelf      text    NOT NULL CHECK (shelf IN ('want-to-read', 'reading', 'read')),
    rating     integer NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    note       text    NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    added_at   text    NOT NULL,
    updated_at text    NOT NULL,
    PRIMARY KEY (user_id, book_id)
);
CREATE INDEX shelf_entries_book ON shelf_entries (book_id);
