-- Goodreads imports, run in the background (package goodreads). A job keeps
-- its uploaded file until it ends, so a job cut short by a restart is run
-- again from the file (an import applied twice changes nothing); one that
-- keeps failing is marked failed, with its error, for the reader to see.
-- updated_at is the running job's heartbeat: a job 'running' whose
-- heartbeat stopped is taken up again by any instance. report is the final
-- report, as JSON.
CREATE TABLE import_jobs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name   TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    rows_total  INTEGER NOT NULL DEFAULT 0,
    rows_done   INTEGER NOT NULL DEFAULT 0,
    report      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX import_jobs_user ON import_jobs (user_id, id);
CREATE INDEX import_jobs_pending ON import_jobs (state, updated_at) WHERE state IN ('queued', 'running');
