-- Shelves a reader shares (shelf_shares) and the share cards, the images
-- other sites show for links to a book or a shared shelf (share_cards).
--
-- A share is one reader's shelf, public at /shared/<share_key> to whoever
-- has the key (random, 130 bits). A reader shares a shelf at most once at a
-- time; stopping deletes the row, so the key is dead at once, and sharing
-- again makes a new key.
CREATE TABLE shelf_shares (
    share_key  TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    shelf      TEXT    NOT NULL CHECK (shelf IN ('want-to-read', 'reading', 'read')),
    created_at TEXT    NOT NULL,
    UNIQUE (user_id, shelf)
) WITHOUT ROWID;

-- A card is a PNG rendered from what it shows; version is the hash of
-- that, so a change to the book or shelf makes a new version and the old
-- one is deleted when the new one is stored. kind is 'book' (ref: the
-- book's id) or 'shelf' (ref: the share's key).
CREATE TABLE share_cards (
    kind       TEXT NOT NULL,
    ref        TEXT NOT NULL,
    version    TEXT NOT NULL,
    png        BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (kind, ref, version)
) WITHOUT ROWID;
-- The oldest cards are deleted past a limit (cards.Store.Limit).
CREATE INDEX share_cards_created ON share_cards (created_at);
