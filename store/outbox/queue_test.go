package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

func enqueue(t *testing.T, db *store.DB, n int) []int64 {
	t.Helper()
	var ids []int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		for i := range n {
			id, err := Enqueue(context.Background(), tx, Mail{
				To: fmt.Sprintf("reader%d@example.com", i), Subject: "Hello", Text: "text", HTML: "<p>html</p>",
			})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return ids
}

func TestEnqueueRollsBackWithTransaction(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := Enqueue(ctx, tx, Mail{To: "a@example.com", Subject: "s", Text: "t", HTML: "h"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		c, err := NewQueue(db).Counts(ctx)
		if err != nil || c.Pending != 0 {
			t.Fatalf("counts = %+v, %v; want nothing pending after rollback", c, err)
		}
	})
}

// TestOutboxDueness proves that the text comparison of stored times works
// both with the strftime defaults the migration writes and with times the
// store formats itself, across a sub-second boundary.
func TestOutboxDueness(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ob := NewQueue(db)
		ctx := context.Background()
		enqueue(t, db, 1)

		var stored string
		if err := db.Read.QueryRow(`SELECT next_attempt_at FROM outbox`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		enqueuedAt, err := parseSQLTime(stored)
		if err != nil {
			t.Fatalf("default time %q does not parse: %v", stored, err)
		}
		if d := time.Since(enqueuedAt); d < -time.Second || d > time.Minute {
			t.Fatalf("default time %q is %v from now; want UTC now", stored, d)
		}

		// A millisecond before it was queued, it is not due.
		if err := ob.Heartbeat(ctx, "a", enqueuedAt, time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := ob.Claim(ctx, "a", enqueuedAt.Add(-time.Millisecond), 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("claim before due = %d rows, %v; want none", len(got), err)
		}
		// At that exact time, it is.
		got, err = ob.Claim(ctx, "a", enqueuedAt, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim when due = %d rows, %v; want 1", len(got), err)
		}
		m := got[0]
		if m.Attempts != 1 || m.To != "reader0@example.com" || m.HTML != "<p>html</p>" || len(m.MessageID) != 32 {
			t.Fatalf("claimed %+v", m)
		}
		// Claimed by a sender alive for a minute, so not due again until then.
		if got, _ := ob.Claim(ctx, "b", enqueuedAt.Add(59*time.Second), 10); len(got) != 0 {
			t.Fatalf("claimed a leased message again")
		}

		// Postpone to a time in a different second and hour, in a non-UTC zone:
		// it must be stored as UTC text and compare correctly.
		zone := time.FixedZone("UTC+5", 5*3600)
		next := enqueuedAt.Add(90*time.Minute + 500*time.Millisecond).In(zone)
		if err := ob.Postpone(ctx, m.ID, next, "451 try later"); err != nil {
			t.Fatal(err)
		}
		if err := db.Read.QueryRow(`SELECT next_attempt_at FROM outbox`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if want := next.UTC().Format("2006-01-02 15:04:05.000"); stored != want {
			t.Fatalf("stored %q, want %q", stored, want)
		}
		if got, _ := ob.Claim(ctx, "b", next.Add(-time.Millisecond), 10); len(got) != 0 {
			t.Fatalf("due before its retry time")
		}
		// The database's own clock, formatted as its column defaults are,
		// agrees: not due now.
		dbNow := `strftime('%Y-%m-%d %H:%M:%f', 'now')`
		if db.Backend == store.Postgres {
			dbNow = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')`
		}
		var dueByDB int
		if err := db.Read.QueryRow(`SELECT count(*) FROM outbox WHERE next_attempt_at <= ` + dbNow).Scan(&dueByDB); err != nil || dueByDB != 0 {
			t.Fatalf("due by the database's clock = %d, %v; want 0", dueByDB, err)
		}
		got, err = ob.Claim(ctx, "b", next, 10)
		if err != nil || len(got) != 1 || got[0].Attempts != 2 || got[0].LastError != "451 try later" {
			t.Fatalf("claim at retry time = %+v, %v", got, err)
		}
	})
}

func TestOutboxLifecycle(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ob := NewQueue(db)
		ctx := context.Background()
		ids := enqueue(t, db, 5)
		now := time.Now().Add(time.Second)

		got, err := ob.Claim(ctx, "a", now, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim = %d, %v", len(got), err)
		}
		for i, m := range got {
			if m.ID != ids[i] {
				t.Fatalf("claim order: got id %d at %d, want %d", m.ID, i, ids[i])
			}
		}
		if err := ob.MarkSent(ctx, now, got[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := ob.MarkFailed(ctx, got[1].ID, now, "550 no such user"); err != nil {
			t.Fatal(err)
		}
		if err := ob.Release(ctx, []int64{got[2].ID}, now); err != nil {
			t.Fatal(err)
		}
		// MarkFailed after sent changes nothing.
		if err := ob.MarkFailed(ctx, got[0].ID, now, "late"); err != nil {
			t.Fatal(err)
		}

		sent, err := ob.Get(ctx, got[0].ID)
		if err != nil || sent.SentAt.IsZero() || !sent.FailedAt.IsZero() || sent.Text != "" || sent.HTML != "" {
			t.Fatalf("sent row = %+v, %v; want sent_at set and bodies emptied", sent, err)
		}
		released, _ := ob.Get(ctx, got[2].ID)
		if released.Attempts != 0 {
			t.Fatalf("released attempts = %d, want 0", released.Attempts)
		}

		c, err := ob.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Pending != 3 || c.Sent != 1 || c.Failed != 1 || c.OldestPending.IsZero() {
			t.Fatalf("counts = %+v", c)
		}

		failed, err := ob.Failed(ctx, 10)
		if err != nil || len(failed) != 1 || failed[0].ID != got[1].ID || failed[0].LastError != "550 no such user" || failed[0].FailedAt.IsZero() {
			t.Fatalf("failed = %+v, %v", failed, err)
		}

		if err := ob.Requeue(ctx, got[0].ID, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("requeue of a sent message = %v, want store.ErrNotFound", err)
		}
		if err := ob.Requeue(ctx, got[1].ID, now); err != nil {
			t.Fatal(err)
		}
		again, err := ob.Claim(ctx, "a", now, 10)
		if err != nil || len(again) != 4 {
			t.Fatalf("claim after requeue/release = %d, %v; want 4", len(again), err)
		}

		if n, err := ob.PurgeSent(ctx, now.Add(time.Millisecond)); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		if _, err := ob.Get(ctx, got[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("purged row still there: %v", err)
		}
	})
}

// TestClaimHeldWhileSenderIsAlive: a claim holds while its sender renews
// its heartbeat, however long that is, and is due again once the sender's
// lease lapses or it leaves.
func TestClaimHeldWhileSenderIsAlive(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ob := NewQueue(db)
		ctx := context.Background()
		ids := enqueue(t, db, 2)
		now := time.Now().Add(time.Second)
		lease := 10 * time.Second

		if err := ob.Heartbeat(ctx, "a", now, lease); err != nil {
			t.Fatal(err)
		}
		got, err := ob.Claim(ctx, "a", now, 1)
		if err != nil || len(got) != 1 || got[0].ID != ids[0] {
			t.Fatalf("a's claim = %+v, %v", got, err)
		}
		// a renews its heartbeat for a minute: b, alive too, never gets a's
		// message (only the other one).
		takes := func(got []Message, id int64) bool {
			return slices.ContainsFunc(got, func(m Message) bool { return m.ID == id })
		}
		for later := time.Duration(0); later <= time.Minute; later += 2 * time.Second {
			for _, sender := range []string{"a", "b"} {
				if err := ob.Heartbeat(ctx, sender, now.Add(later), lease); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ob.Claim(ctx, "b", now.Add(later+time.Second), 10)
			if err != nil || takes(got, ids[0]) {
				t.Fatalf("b took a live sender's claim %v later: %+v, %v", later, got, err)
			}
			if later == 0 && !takes(got, ids[1]) {
				t.Fatalf("b did not get the unclaimed message: %+v", got)
			}
		}
		// a stops renewing (it died): once its lease lapses, the claim is b's.
		lastBeat := now.Add(time.Minute)
		if got, _ := ob.Claim(ctx, "b", lastBeat.Add(lease-time.Millisecond), 10); takes(got, ids[0]) {
			t.Fatalf("b took a's claim before a's lease lapsed: %+v", got)
		}
		if err := ob.Heartbeat(ctx, "b", lastBeat.Add(lease), lease); err != nil { // b lives on
			t.Fatal(err)
		}
		got, err = ob.Claim(ctx, "b", lastBeat.Add(lease), 10)
		if err != nil || len(got) != 1 || got[0].ID != ids[0] || got[0].Attempts != 2 {
			t.Fatalf("claim after a's lease lapsed = %+v, %v", got, err)
		}
		var holder string
		db.Read.QueryRow(`SELECT claimed_by FROM outbox WHERE id = $1`, ids[0]).Scan(&holder)
		if holder != "b" {
			t.Errorf("claimed_by = %q, want b", holder)
		}

		// A sender that leaves (a clean stop) frees its claims at once, and one
		// that never had a heartbeat holds nothing.
		if got, _ := ob.Claim(ctx, "c", lastBeat.Add(lease), 10); len(got) != 0 {
			t.Fatalf("c took live b's claims: %+v", got)
		}
		if err := ob.Leave(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		got, err = ob.Claim(ctx, "ghost", lastBeat.Add(lease), 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim after b left = %d, %v; want both", len(got), err)
		}
		if got, _ := ob.Claim(ctx, "c", lastBeat.Add(lease), 10); len(got) != 2 {
			t.Fatalf("claims of a sender without a heartbeat held: got %d, want 2", len(got))
		}

		// Recording an outcome ends the claim.
		if err := ob.Postpone(ctx, ids[0], lastBeat, "451 later"); err != nil {
			t.Fatal(err)
		}
		var n int
		db.Read.QueryRow(`SELECT count(*) FROM outbox WHERE claimed_by IS NULL`).Scan(&n)
		if n != 1 {
			t.Errorf("unclaimed rows after Postpone = %d, want 1", n)
		}

		if err := ob.PurgeSenders(ctx, lastBeat.Add(3*lease)); err != nil {
			t.Fatal(err)
		}
		db.Read.QueryRow(`SELECT count(*) FROM mail_senders`).Scan(&n)
		if n != 0 {
			t.Errorf("%d senders left after purge, want 0", n)
		}
	})
}

func TestTruncateError(t *testing.T) {
	long := ""
	for len(long) < 2000 {
		long += "é"
	}
	got := truncateError(long)
	if len(got) > 1010 || got[len(got)-3:] != "…" {
		t.Fatalf("truncated to %d bytes: %q", len(got), got[len(got)-10:])
	}
}

// TestClaimSkipsRowsAnotherClaimHolds: on PostgreSQL a claim in progress on
// another instance locks the rows it is taking; a concurrent Claim passes
// over them and takes the next due ones instead of waiting for it.
func TestClaimSkipsRowsAnotherClaimHolds(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ob := NewQueue(db)
	ctx := context.Background()
	ids := enqueue(t, db, 4)
	now := time.Now().Add(time.Second)

	other, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, `SELECT id FROM outbox WHERE id IN ($1, $2) FOR UPDATE`, ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}

	claimCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got, err := ob.Claim(claimCtx, "b", now, 10)
	if err != nil {
		t.Fatalf("claim beside a claim in progress: %v", err)
	}
	if len(got) != 2 || got[0].ID != ids[2] || got[1].ID != ids[3] {
		t.Fatalf("claimed %+v; want the two rows nobody was taking", got)
	}
}

// TestConcurrentClaimsAreDisjoint: senders claiming at the same time, each
// on its own connection as separate instances would, never get the same
// message, and between them get every one.
func TestConcurrentClaimsAreDisjoint(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const senders, total, batch = 8, 400, 7
		enqueue(t, db, total)
		now := time.Now().Add(time.Second)
		claimed := make([][]int64, senders)
		errs := make(chan error, senders)
		start := make(chan struct{})
		for i := range senders {
			// Every sender its own pool, as on separate instances.
			own, err := store.Open(ctx, source(db))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { own.Close() })
			ob, name := NewQueue(own), fmt.Sprintf("sender-%d", i)
			if err := ob.Heartbeat(ctx, name, now, time.Minute); err != nil {
				t.Fatal(err)
			}
			go func() {
				<-start
				for {
					got, err := ob.Claim(ctx, name, now, batch)
					if err != nil || len(got) == 0 {
						errs <- err
						return
					}
					for _, m := range got {
						claimed[i] = append(claimed[i], m.ID)
					}
				}
			}()
		}
		close(start)
		for range senders {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		seen := map[int64]int{}
		busy := 0
		for i, ids := range claimed {
			if len(ids) > 0 {
				busy++
			}
			for _, id := range ids {
				if j, dup := seen[id]; dup {
					t.Fatalf("message %d claimed by sender-%d and sender-%d", id, j, i)
				}
				seen[id] = i
			}
		}
		if len(seen) != total {
			t.Fatalf("claimed %d messages, want %d", len(seen), total)
		}
		t.Logf("%d of %d senders claimed some", busy, senders)
	})
}

// source names db's database the way store.Open takes it, for opening it
// again as another instance would.
func source(db *store.DB) string {
	if db.Backend == store.Postgres {
		return db.URL
	}
	return db.Path
}

// TestMarkSentRelaxesOnlyItsOwnCommit: on PostgreSQL MarkSent commits
// without waiting for the disk (as SQLite's synchronous=NORMAL does), and
// that setting stays in its own transaction: the pooled connection it ran
// on commits durably again for whatever runs on it next.
func TestMarkSentRelaxesOnlyItsOwnCommit(t *testing.T) {
	db := storetest.OpenPostgres(t)
	db.Write.SetMaxOpenConns(1) // so the next query gets MarkSent's connection
	ob := NewQueue(db)
	ctx := context.Background()
	ids := enqueue(t, db, 1)
	now := time.Now().Add(time.Second)
	if _, err := ob.Claim(ctx, "a", now, 1); err != nil {
		t.Fatal(err)
	}
	if err := ob.MarkSent(ctx, now, ids...); err != nil {
		t.Fatal(err)
	}
	if m, err := ob.Get(ctx, ids[0]); err != nil || m.SentAt.IsZero() {
		t.Fatalf("after MarkSent: %+v, %v", m, err)
	}
	var setting string
	if err := db.Write.QueryRow(`SHOW synchronous_commit`).Scan(&setting); err != nil || setting != "on" {
		t.Fatalf("synchronous_commit after MarkSent = %q, %v; want on", setting, err)
	}
}

// A sender claims only once it has recorded an outcome for every message
// of its last batch. When recording failed (the database connection was
// cut after the message was tried), the row still names the sender, which
// is alive: no other sender may take it, and the sender's own claims skip
// it too, so the message would wait until the instance stops. Seen as
// confirmation mails never sent while PostgreSQL connections were being
// terminated. ReleaseClaims hands such claims back.
func TestReleaseClaimsFreesASendersUnrecordedClaims(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ob := NewQueue(db)
		ctx := context.Background()
		ids := enqueue(t, db, 2)
		now := time.Now().Add(time.Second)
		for _, s := range []string{"a", "b"} {
			if err := ob.Heartbeat(ctx, s, now, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := ob.Claim(ctx, "a", now, 1); err != nil || len(got) != 1 || got[0].ID != ids[0] {
			t.Fatalf("a's claim = %+v, %v", got, err)
		}
		if got, err := ob.Claim(ctx, "b", now, 1); err != nil || len(got) != 1 || got[0].ID != ids[1] {
			t.Fatalf("b's claim = %+v, %v", got, err)
		}
		// a's Postpone, MarkSent or Release never reached the database.
		if err := ob.ReleaseClaims(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		got, err := ob.Claim(ctx, "a", now.Add(time.Second), 10)
		if err != nil || len(got) != 1 || got[0].ID != ids[0] || got[0].Attempts != 2 {
			t.Fatalf("a's next claim = %+v, %v; want its unrecorded message again, and only that (b's is b's)", got, err)
		}
	})
}

func TestRefusedCountsOnlyRefusalsAfterTheMark(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		q := NewQueue(db)
		now := time.Now()
		before := enqueue(t, db, 1) // to reader0@example.com
		if err := q.MarkFailed(ctx, before[0], now, "550 5.1.1 no such user"); err != nil {
			t.Fatal(err)
		}
		mark, err := q.Newest(ctx)
		if err != nil || mark != before[0] {
			t.Fatalf("Newest = %d, %v; want %d", mark, err, before[0])
		}
		if refused, err := q.Refused(ctx, "reader0@example.com", mark); err != nil || refused {
			t.Fatalf("Refused before any mail after the mark = %v, %v; want false", refused, err)
		}
		ids := enqueue(t, db, 2) // reader0 and reader1
		if err := q.MarkFailed(ctx, ids[1], now, gaveUp+"20 attempts: 451 try later"); err != nil {
			t.Fatal(err)
		}
		if refused, err := q.Refused(ctx, "reader1@example.com", mark); err != nil || refused {
			t.Fatalf("Refused of a message given up on = %v, %v; want false", refused, err)
		}
		if refused, err := q.Refused(ctx, "Reader0@Example.com", mark); err != nil || refused {
			t.Fatalf("Refused while the message waits = %v, %v; want false", refused, err)
		}
		if err := q.MarkFailed(ctx, ids[0], now, "550 5.1.1 no such user"); err != nil {
			t.Fatal(err)
		}
		if refused, err := q.Refused(ctx, "Reader0@Example.com", mark); err != nil || !refused {
			t.Fatalf("Refused after the server refused it = %v, %v; want true", refused, err)
		}
	})
}

func TestLatestRefusedLooksAtTheNewestMailToTheAddress(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		q := NewQueue(db)
		now := time.Now()
		if refused, err := q.LatestRefused(ctx, "reader0@example.com"); err != nil || refused {
			t.Fatalf("LatestRefused with no mail = %v, %v; want false", refused, err)
		}
		first := enqueue(t, db, 2) // reader0 and reader1
		if refused, err := q.LatestRefused(ctx, "reader0@example.com"); err != nil || refused {
			t.Fatalf("LatestRefused while the message waits = %v, %v; want false", refused, err)
		}
		if err := q.MarkFailed(ctx, first[0], now, "550 5.1.1 no such user"); err != nil {
			t.Fatal(err)
		}
		if err := q.MarkFailed(ctx, first[1], now, gaveUp+"20 attempts: 451 try later"); err != nil {
			t.Fatal(err)
		}
		if refused, err := q.LatestRefused(ctx, "Reader0@Example.com"); err != nil || !refused {
			t.Fatalf("LatestRefused after the server refused it = %v, %v; want true", refused, err)
		}
		if refused, err := q.LatestRefused(ctx, "reader1@example.com"); err != nil || refused {
			t.Fatalf("LatestRefused of a message given up on = %v, %v; want false", refused, err)
		}
		// A newer mail to the address (a new link) waits: not refused yet.
		enqueue(t, db, 1) // reader0
		if refused, err := q.LatestRefused(ctx, "reader0@example.com"); err != nil || refused {
			t.Fatalf("LatestRefused with a newer mail waiting = %v, %v; want false", refused, err)
		}
	})
}

// LatestRefused is asked every 2 s by a waiting page, and refused mail is
// never pruned: it must find the newest message to an address through the
// outbox_recipient index, not by reading the whole outbox.
func TestLatestRefusedUsesTheRecipientIndex(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		conn, err := db.Read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := "EXPLAIN QUERY PLAN "
		if db.Backend == store.Postgres {
			// The table is nearly empty, so the planner would read it
			// whole: ask whether the index can serve the query at all.
			if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			explain = "EXPLAIN "
		}
		rows, err := conn.QueryContext(ctx, explain+sqlLatestRefused, "Reader@Example.com")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, line := range plan {
			found = found || strings.Contains(line, "outbox_recipient")
		}
		if !found {
			t.Errorf("LatestRefused's plan does not use outbox_recipient:\n%s", strings.Join(plan, "\n"))
		}
	})
}
