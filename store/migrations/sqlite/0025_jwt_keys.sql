-- The Ed25519 keys that sign the API's access tokens (JWTs), shared by
-- every instance on this database. private_key is sealed (package sealed)
-- under the secret key kept outside the database; public_key is in clear,
-- it is published. A key signs from created_at until signs_until, and is
-- published until published_until, when the last token it signed has
-- expired; then it is deleted.
CREATE TABLE jwt_keys (
    kid             TEXT NOT NULL PRIMARY KEY,
    private_key     BLOB NOT NULL,
    public_key      BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    signs_until     TEXT NOT NULL,
    published_until TEXT NOT NULL
) WITHOUT ROWID;
