package goodreads

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"shelf/store"
)

// Job states.
const (
	Queued  = "queued"
	Running = "running"
	Done    = "done"
	Failed  = "failed"
)

// Limits on jobs.
const (
	// MaxAttempts is how many times a job is started before one cut short
	// every time (by restarts, or by a crash it causes) is marked failed.
	MaxAttempts = 3
	// StaleAfter is how long a running job's heartbeat may stop before
	// another worker takes the job up again. Workers beat every batch of
	// rows, far more often.
	StaleAfter = 30 * time.Second
	// keepJobs is how many jobs (with their reports) each reader keeps.
	keepJobs = 5
)

// ErrBusy means the reader already has an import waiting or running.
var ErrBusy = errors.New("an import is already running")

// Job is one import of a file for a reader.
type Job struct {
	ID        int64
	UserID    int64
	FileName  string
	State     string
	Attempts  int
	RowsTotal int // 0 until the file is read
	RowsDone  int
	Report    *Report // when Done
	Error     string  // when Failed
	CreatedAt time.Time
	UpdatedAt time.Time
	data      []byte
}

// Active reports whether the job is still to finish.
func (j Job) Active() bool { return j.State == Queued || j.State == Running }

// Jobs keeps import jobs in the database.
type Jobs struct {
	db  *store.DB
	now func() time.Time
}

// NewJobs returns the jobs in db; now is the clock (time.Now when nil).
func NewJobs(db *store.DB, now func() time.Time) *Jobs {
	if now == nil {
		now = time.Now
	}
	return &Jobs{db: db, now: now}
}

const jobColumns = `id, user_id, file_name, state, attempts, rows_total, rows_done, report, error, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }, extra ...any) (Job, error) {
	var j Job
	var report, created, updated string
	if err := row.Scan(append([]any{&j.ID, &j.UserID, &j.FileName, &j.State, &j.Attempts, &j.RowsTotal, &j.RowsDone,
		&report, &j.Error, &created, &updated}, extra...)...); err != nil {
		return Job{}, err
	}
	var err error
	if j.CreatedAt, err = store.ParseTime(created); err != nil {
		return Job{}, err
	}
	if j.UpdatedAt, err = store.ParseTime(updated); err != nil {
		return Job{}, err
	}
	if report != "" {
		j.Report = &Report{}
		if err := json.Unmarshal([]byte(report), j.Report); err != nil {
			return Job{}, fmt.Errorf("job %d report: %w", j.ID, err)
		}
	}
	return j, nil
}

// Create queues an import of data for the reader, unless they have one
// waiting or running already (ErrBusy). Older finished jobs beyond the
// last few are deleted.
func (s *Jobs) Create(ctx context.Context, userID int64, fileName string, data []byte) (Job, error) {
	now := store.FormatTime(s.now())
	var j Job
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var busy int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM import_jobs WHERE user_id = $1 AND state IN ('queued', 'running')`,
			userID).Scan(&busy); err != nil {
			return err
		}
		if busy > 0 {
			return ErrBusy
		}
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `INSERT INTO import_jobs (user_id, file_name, data, state, created_at, updated_at)
			VALUES ($1, $2, $3, 'queued', $4, $4) RETURNING `+jobColumns, userID, fileName, data, now))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM import_jobs WHERE user_id = $1 AND id NOT IN
			(SELECT id FROM import_jobs WHERE user_id = $1 ORDER BY id DESC LIMIT $2)`, userID, keepJobs)
		return err
	})
	if errors.Is(err, ErrBusy) {
		return Job{}, ErrBusy
	}
	if err != nil {
		return Job{}, fmt.Errorf("create import job: %w", err)
	}
	return j, nil
}

// Get returns the reader's job id; store.ErrNotFound when there is none,
// or it is another reader's.
func (s *Jobs) Get(ctx context.Context, userID, id int64) (Job, error) {
	j, err := scanJob(s.db.Read.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM import_jobs WHERE id = $1 AND user_id = $2`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, store.ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("get import job: %w", err)
	}
	return j, nil
}

// Latest returns the reader's newest job, if any.
func (s *Jobs) Latest(ctx context.Context, userID int64) (Job, bool, error) {
	j, err := scanJob(s.db.Read.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM import_jobs WHERE user_id = $1 ORDER BY id DESC LIMIT 1`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("latest import job: %w", err)
	}
	return j, true, nil
}

// Claim takes the oldest job to run: one queued, or one running whose
// heartbeat stopped StaleAfter ago (its worker died). A job claimed
// MaxAttempts times already is marked failed instead, and the next one
// looked at. ok is false when there is nothing to run.
func (s *Jobs) Claim(ctx context.Context) (j Job, ok bool, err error) {
	lock := ""
	if s.db.Backend == store.Postgres {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	for {
		now := s.now()
		var data []byte
		j, err = scanJob(s.db.Write.QueryRowContext(ctx, `WITH due AS MATERIALIZED (
				SELECT id FROM import_jobs
				WHERE state = 'queued' OR (state = 'running' AND updated_at < $2)
				ORDER BY id LIMIT 1 `+lock+`)
			UPDATE import_jobs SET state = 'running', attempts = attempts + 1, updated_at = $1
			WHERE id IN (SELECT id FROM due)
			RETURNING `+jobColumns+`, data`, store.FormatTime(now), store.FormatTime(now.Add(-StaleAfter))), &data)
		if errors.Is(err, sql.ErrNoRows) {
			return Job{}, false, nil
		}
		if err != nil {
			return Job{}, false, fmt.Errorf("claim import job: %w", err)
		}
		if j.Attempts <= MaxAttempts {
			j.data = data
			return j, true, nil
		}
		if err := s.Fail(ctx, j, fmt.Sprintf("The import was interrupted %d times and was given up.", MaxAttempts)); err != nil {
			return Job{}, false, err
		}
	}
}

// errLost means another worker has taken the job over (this one was
// thought dead): it must stop without writing.
var errLost = errors.New("import job taken over by another worker")

// update writes a claimed job's columns, unless another claim has taken
// it since (attempts differs).
func (s *Jobs) update(ctx context.Context, j Job, set string, args ...any) error {
	args = append([]any{j.ID, j.Attempts, store.FormatTime(s.now())}, args...)
	res, err := s.db.Write.ExecContext(ctx, `UPDATE import_jobs SET updated_at = $3, `+set+`
		WHERE id = $1 AND attempts = $2 AND state = 'running'`, args...)
	if err != nil {
		return fmt.Errorf("update import job %d: %w", j.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errLost
	}
	return nil
}

// Progress records how far a claimed job has got; it is its heartbeat too.
func (s *Jobs) Progress(ctx context.Context, j Job, done, total int) error {
	return s.update(ctx, j, `rows_done = $4, rows_total = $5`, done, total)
}

// Finish records a claimed job's report and drops its file.
func (s *Jobs) Finish(ctx context.Context, j Job, r *Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.update(ctx, j, `state = 'done', report = $4, data = $5, rows_done = rows_total`, string(b), []byte{})
}

// Fail records why a claimed job failed and drops its file.
func (s *Jobs) Fail(ctx context.Context, j Job, msg string) error {
	return s.update(ctx, j, `state = 'failed', error = $4, data = $5`, msg, []byte{})
}

// AnyActive reports whether any job is waiting or running, by anyone.
func (s *Jobs) AnyActive(ctx context.Context) (bool, error) {
	var one int
	err := s.db.Read.QueryRowContext(ctx, `SELECT 1 FROM import_jobs WHERE state IN ('queued', 'running') LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
