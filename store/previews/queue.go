// Package previews keeps page previews of external links (a thumbnail, the
// page's title and description) and the durable queue of their captures. A
// preview is keyed by the SHA-256 of its URL; a pending one is a job that a
// Worker claims with a lease, captures, and records as ready or failed.
// Failures that may pass (time-outs, network errors) are retried with
// backoff; refusals (the address is private, the page is a download) are
// final and say why.
package previews

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"shelf/store"
)

// Status is where a preview stands.
type Status string

const (
	Pending Status = "pending"
	Ready   Status = "ready"
	Failed  Status = "failed"
)

// OffReason is why every preview fails on a server that cannot capture
// pages (it has no Chromium).
const OffReason = "Previews are off on this server."

// Thumbnail is a ready preview's image.
type Thumbnail struct {
	URL  string // of the previewed page
	ETag string
	PNG  []byte // nil from ImageTag
}

// Preview is what is known of one URL's preview.
type Preview struct {
	Key                string // hex of SHA-256 of the URL
	URL                string
	Status             Status
	Title, Description string
	FinalURL           string // where the page was, after redirects
	Width, Height      int    // of the thumbnail, when ready
	// Error says why the last attempt failed ("refused: private address
	// 10.0.0.5", "timed out after 10 s"); empty when none did.
	Error     string
	Attempts  int
	UpdatedAt time.Time
}

// KeyOf is the key of url's preview.
func KeyOf(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:])
}

// ValidKey reports whether key has the form KeyOf gives.
func ValidKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for _, c := range key {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Queue keeps previews and their capture jobs.
type Queue struct {
	db   *store.DB
	now  func() time.Time
	wake chan struct{} // a new job: wakes this process's worker
}

// NewQueue returns the previews over db; now is the clock (time.Now when
// nil).
func NewQueue(db *store.DB, now func() time.Time) *Queue {
	if now == nil {
		now = time.Now
	}
	return &Queue{db: db, now: now, wake: make(chan struct{}, 1)}
}

const previewColumns = `key, url, status, title, description, final_url, width, height, error, attempts, updated_at`

func scanPreview(row interface{ Scan(...any) error }) (Preview, error) {
	var (
		p       Preview
		updated string
	)
	if err := row.Scan(&p.Key, &p.URL, &p.Status, &p.Title, &p.Description, &p.FinalURL, &p.Width, &p.Height,
		&p.Error, &p.Attempts, &updated); err != nil {
		return p, err
	}
	var err error
	p.UpdatedAt, err = store.ParseTime(updated)
	return p, err
}

// MaxURL is the longest URL a preview is kept for.
const MaxURL = 4096

// ErrURLTooLong is returned by Enqueue for a URL longer than MaxURL.
var ErrURLTooLong = errors.New("previews: URL too long")

// Enqueue asks for url's preview and returns it as it now stands: a new
// one is pending and due at once; an existing one, ready, pending or
// failed, is left as it is, except one that failed because previews were
// off, which is tried again. The caller checks url (an absolute http(s)
// URL); the capture checks where it leads.
func (q *Queue) Enqueue(ctx context.Context, url string) (Preview, error) {
	if len(url) > MaxURL {
		return Preview{}, ErrURLTooLong
	}
	now := store.FormatTime(q.now())
	key := KeyOf(url)
	res, err := q.db.Write.ExecContext(ctx, `INSERT INTO previews (key, url, status, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, 'pending', $3, $3, $3)
		ON CONFLICT (key) DO UPDATE SET status = 'pending', attempts = 0, error = '', next_attempt_at = $3, updated_at = $3
		WHERE previews.status = 'failed' AND previews.error = $4`, key, url, now, OffReason)
	if err != nil {
		return Preview{}, fmt.Errorf("enqueue preview: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	p, ok, err := q.get(ctx, q.db.Write, key)
	if err == nil && !ok {
		err = store.ErrNotFound // deleted between the two statements
	}
	return p, err
}

// Get returns the preview with key.
func (q *Queue) Get(ctx context.Context, key string) (Preview, bool, error) {
	return q.get(ctx, q.db.Read, key)
}

func (q *Queue) get(ctx context.Context, db *sql.DB, key string) (Preview, bool, error) {
	if !ValidKey(key) {
		return Preview{}, false, nil
	}
	p, err := scanPreview(db.QueryRowContext(ctx, `SELECT `+previewColumns+` FROM previews WHERE key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Preview{}, false, nil
	}
	if err != nil {
		return Preview{}, false, fmt.Errorf("get preview: %w", err)
	}
	return p, true, nil
}

// Image returns the thumbnail of the ready preview with key.
func (q *Queue) Image(ctx context.Context, key string) (Thumbnail, bool, error) {
	var t Thumbnail
	ok, err := q.thumbnail(ctx, key, `url, etag, image`, &t.URL, &t.ETag, &t.PNG)
	return t, ok, err
}

// ImageTag is Image without the PNG, which is not read: enough to answer
// a request for an image the client has, as the tag tells.
func (q *Queue) ImageTag(ctx context.Context, key string) (Thumbnail, bool, error) {
	var t Thumbnail
	ok, err := q.thumbnail(ctx, key, `url, etag`, &t.URL, &t.ETag)
	return t, ok, err
}

// thumbnail scans columns of the ready preview with key into dest.
func (q *Queue) thumbnail(ctx context.Context, key, columns string, dest ...any) (bool, error) {
	if !ValidKey(key) {
		return false, nil
	}
	err := q.db.Read.QueryRowContext(ctx, `SELECT `+columns+` FROM previews WHERE key = $1 AND status = 'ready' AND image IS NOT NULL`, key).
		Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("preview image: %w", err)
	}
	return true, nil
}

// Job is a claimed capture.
type Job struct {
	Key, URL string
	Attempts int // claims so far, this one included
}

// Claim takes up to limit due jobs for worker, oldest first, and holds
// them until now+lease: a pending preview is due once its next_attempt_at
// has come, unless a worker holds it; a claim whose lease lapsed (its worker
// died) is due again. Each claim counts as an attempt. On PostgreSQL the
// rows are locked with SKIP LOCKED, so workers of several instances never
// claim the same row (see outbox.Queue.Claim for why the lock belongs in
// the choosing query).
func (q *Queue) Claim(ctx context.Context, worker string, lease time.Duration, limit int) ([]Job, error) {
	now := q.now()
	lock := ""
	if q.db.Backend == store.Postgres {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	rows, err := q.db.Write.QueryContext(ctx, `WITH due AS MATERIALIZED (
			SELECT key FROM previews
			WHERE status = 'pending' AND next_attempt_at <= $2 AND lease_until < $2
			ORDER BY next_attempt_at, key LIMIT $4 `+lock+`)
		UPDATE previews SET attempts = attempts + 1, claimed_by = $1, lease_until = $3
		WHERE key IN (SELECT key FROM due)
		RETURNING key, url, attempts`,
		worker, store.FormatTime(now), store.FormatTime(now.Add(lease)), limit)
	if err != nil {
		return nil, fmt.Errorf("claim previews: %w", err)
	}
	defer rows.Close()
	var jobs []Job
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.Key, &j.URL, &j.Attempts); err != nil {
			return nil, fmt.Errorf("claim previews: %w", err)
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// Capture is what a capture found.
type Capture struct {
	Title, Description, FinalURL string
	PNG                          []byte
	Width, Height                int
}

// ErrLostClaim is returned when recording the outcome of a job that worker
// no longer holds: its lease lapsed and another worker took it.
var ErrLostClaim = errors.New("previews: claim lost")

// Complete records job key, claimed by worker, as ready with c.
func (q *Queue) Complete(ctx context.Context, worker, key string, c Capture) error {
	sum := sha256.Sum256(c.PNG)
	return q.finish(ctx, `UPDATE previews SET status = 'ready', title = $3, description = $4, final_url = $5,
		image = $6, etag = $7, width = $8, height = $9, error = '', lease_until = '', claimed_by = '', updated_at = $10
		WHERE key = $1 AND claimed_by = $2 AND status = 'pending'`,
		key, worker, c.Title, c.Description, c.FinalURL, c.PNG, `"`+hex.EncodeToString(sum[:16])+`"`, c.Width, c.Height,
		store.FormatTime(q.now()))
}

// Retry records that job key failed for reason and is due again at next.
func (q *Queue) Retry(ctx context.Context, worker, key string, next time.Time, reason string) error {
	return q.finish(ctx, `UPDATE previews SET error = $3, next_attempt_at = $4, lease_until = '', claimed_by = '', updated_at = $5
		WHERE key = $1 AND claimed_by = $2 AND status = 'pending'`,
		key, worker, truncate(reason, 500), store.FormatTime(next), store.FormatTime(q.now()))
}

// Release hands job key back untried (its worker is stopping): due at
// once, and the claim not counted as an attempt.
func (q *Queue) Release(ctx context.Context, worker, key string) error {
	now := store.FormatTime(q.now())
	return q.finish(ctx, `UPDATE previews SET attempts = attempts - 1, next_attempt_at = $3, lease_until = '', claimed_by = '', updated_at = $3
		WHERE key = $1 AND claimed_by = $2 AND status = 'pending'`, key, worker, now)
}

// Fail records that job key failed for good, for reason.
func (q *Queue) Fail(ctx context.Context, worker, key, reason string) error {
	return q.finish(ctx, `UPDATE previews SET status = 'failed', error = $3, lease_until = '', claimed_by = '', updated_at = $4
		WHERE key = $1 AND claimed_by = $2 AND status = 'pending'`,
		key, worker, truncate(reason, 500), store.FormatTime(q.now()))
}

func (q *Queue) finish(ctx context.Context, query string, args ...any) error {
	res, err := q.db.Write.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("record preview: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrLostClaim
	}
	return nil
}

// truncate bounds s to about limit bytes of valid UTF-8.
func truncate(s string, limit int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
