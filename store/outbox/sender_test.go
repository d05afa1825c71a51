package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/outbox"
)

func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "shelf.db")
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testFrom(t testing.TB) *netmail.Address {
	t.Helper()
	a, err := outbox.ParseFrom("Shelf <shelf@shelf.test>")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fastOptions retry quickly so tests of failures take milliseconds.
func fastOptions(t testing.TB) outbox.SenderOptions {
	return outbox.SenderOptions{
		PollInterval: 10 * time.Millisecond,
		BaseBackoff:  20 * time.Millisecond,
		MaxBackoff:   100 * time.Millisecond,
		Timeout:      5 * time.Second,
		Logger:       testLogger(t),
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func startSender(t testing.TB, db *store.DB, cfg outbox.SMTPConfig, opt outbox.SenderOptions) *outbox.Sender {
	t.Helper()
	s, err := outbox.NewSender(outbox.NewQueue(db), cfg, testFrom(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

func enqueue(t testing.TB, db *store.DB, mails ...outbox.Mail) []int64 {
	t.Helper()
	var ids []int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		for _, m := range mails {
			id, err := outbox.Enqueue(context.Background(), tx, m)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func welcome(to string) outbox.Mail {
	return outbox.Mail{
		To:      to,
		Subject: "Confirm your Shelf account",
		Text:    "Welcome!\n\nConfirm: https://shelf.test/confirm?token=abc&x=1\n",
		HTML:    `<p>Welcome!</p><p><a href="https://shelf.test/confirm?token=abc&amp;x=1">Confirm</a></p>`,
	}
}

// waitCounts polls the outbox until ok accepts its counts.
func waitCounts(t testing.TB, db *store.DB, timeout time.Duration, ok func(outbox.Counts) bool) outbox.Counts {
	t.Helper()
	ob := outbox.NewQueue(db)
	deadline := time.Now().Add(timeout)
	for {
		c, err := ob.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox counts still %+v after %v", c, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliversTextAndHTMLWithMessageID(t *testing.T) {
	srv := newTestSMTP(t)
	db := openDB(t, "")
	ids := enqueue(t, db, welcome("reader@example.com"))
	row, err := outbox.NewQueue(db).Get(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	s := startSender(t, db, srv.config(), fastOptions(t))
	s.Notify()
	srv.waitFor(1, 5*time.Second)
	waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == 1 })

	got := srv.messages()[0]
	if got.ParseErr != "" {
		t.Fatalf("parse: %s\n%s", got.ParseErr, got.Raw)
	}
	wantID := row.MessageID + "@shelf.test"
	if got.MessageID != wantID {
		t.Errorf("Message-ID = %q, want %q", got.MessageID, wantID)
	}
	if got.Subject != "Confirm your Shelf account" || got.From != `"Shelf" <shelf@shelf.test>` ||
		len(got.To) != 1 || got.To[0] != "<reader@example.com>" {
		t.Errorf("headers: subject %q from %q to %q", got.Subject, got.From, got.To)
	}
	if got.Date.IsZero() || got.Date.Sub(row.CreatedAt).Abs() > time.Second {
		t.Errorf("Date = %v, want the time it was queued, %v", got.Date, row.CreatedAt)
	}
	if !strings.Contains(got.Text, "https://shelf.test/confirm?token=abc&x=1") {
		t.Errorf("text part = %q", got.Text)
	}
	if !strings.Contains(got.HTML, `<a href="https://shelf.test/confirm?token=abc&amp;x=1">`) {
		t.Errorf("html part = %q", got.HTML)
	}
	raw := string(got.Raw)
	for _, want := range []string{"Content-Type: multipart/alternative", "MIME-Version: 1.0"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw message lacks %q:\n%s", want, raw)
		}
	}
}

func TestSMTPDownThenBackLosesNothing(t *testing.T) {
	srv := newTestSMTP(t)
	srv.down()
	db := openDB(t, "")
	const n = 25
	var mails []outbox.Mail
	for i := range n {
		mails = append(mails, welcome(fmt.Sprintf("r%d@example.com", i)))
	}
	enqueue(t, db, mails...)
	s := startSender(t, db, srv.config(), fastOptions(t))
	s.Notify()

	// Every message fails at least twice while the server is down, and
	// says why.
	ob := outbox.NewQueue(db)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var min int
		if err := db.Read.QueryRow(`SELECT min(attempts) FROM outbox`).Scan(&min); err != nil {
			t.Fatal(err)
		}
		if min >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempts while down: min %d", min)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, _ := ob.Counts(context.Background())
	if c.Sent != 0 || c.Failed != 0 || c.Retrying == 0 {
		t.Fatalf("while down: %+v", c)
	}
	var lastErr string
	db.Read.QueryRow(`SELECT last_error FROM outbox LIMIT 1`).Scan(&lastErr)
	if !strings.Contains(lastErr, "connect") {
		t.Errorf("last_error while down = %q", lastErr)
	}

	// Then a 4xx for a while.
	srv.up()
	srv.setRefuse(451, "try again later")
	time.Sleep(150 * time.Millisecond)
	if srv.count() != 0 {
		t.Fatal("server accepted mail while refusing it")
	}
	srv.setRefuse(0, "")

	waitCounts(t, db, 10*time.Second, func(c outbox.Counts) bool { return c.Sent == n })
	seen := map[string]int{}
	for _, m := range srv.messages() {
		seen[m.MessageID]++
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct messages, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s delivered %d times", id, k)
		}
	}
	c, _ = ob.Counts(context.Background())
	if c.Pending != 0 || c.Failed != 0 {
		t.Fatalf("after recovery: %+v", c)
	}
}

func TestRestartDeliversLeftovers(t *testing.T) {
	srv := newTestSMTP(t)
	srv.down()
	path := filepath.Join(t.TempDir(), "shelf.db")
	ctx := context.Background()

	// First run: mail is queued while the server is down; the sender tries,
	// then the app stops.
	db1, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, db1, welcome("a@example.com"), welcome("b@example.com"))
	s1, err := outbox.NewSender(outbox.NewQueue(db1), srv.config(), testFrom(t), fastOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	s1.Start()
	waitCounts(t, db1, 5*time.Second, func(c outbox.Counts) bool { return c.Retrying == 2 })
	if err := s1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// And one more that no sender ever saw.
	enqueue(t, db1, welcome("c@example.com"))
	db1.Close()

	// Second run over the same file, server back up.
	srv.up()
	db2 := openDB(t, path)
	startSender(t, db2, srv.config(), fastOptions(t))
	srv.waitFor(3, 5*time.Second)
	waitCounts(t, db2, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == 3 && c.Pending == 0 })
}

func TestLeaseExpiryAfterCrash(t *testing.T) {
	srv := newTestSMTP(t)
	db := openDB(t, "")
	ctx := context.Background()
	enqueue(t, db, welcome("a@example.com"))
	// A sender claims the message and dies before recording anything: its
	// last heartbeat holds the claim for 200 ms.
	ob := outbox.NewQueue(db)
	if err := ob.Heartbeat(ctx, "dead", time.Now(), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got, err := ob.Claim(ctx, "dead", time.Now(), 10); err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	startSender(t, db, srv.config(), fastOptions(t))
	time.Sleep(50 * time.Millisecond)
	if srv.count() != 0 {
		t.Fatal("sent a message another sender holds")
	}
	srv.waitFor(1, 5*time.Second)
}

func TestPermanentFailureIsRecordedAndListed(t *testing.T) {
	srv := newTestSMTP(t)
	srv.refuseRecipient("nobody@example.com", 550, "5.1.1 no such user")
	db := openDB(t, "")
	enqueue(t, db, welcome("nobody@example.com"), welcome("not an address"), welcome("reader@example.com"))
	startSender(t, db, srv.config(), fastOptions(t))
	c := waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Pending == 0 })
	if c.Sent != 1 || c.Failed != 2 {
		t.Fatalf("counts = %+v, want 1 sent, 2 failed", c)
	}
	failed, err := outbox.NewQueue(db).Failed(context.Background(), 10)
	if err != nil || len(failed) != 2 {
		t.Fatalf("failed = %v, %v", failed, err)
	}
	byTo := map[string]outbox.Message{}
	for _, f := range failed {
		byTo[f.To] = f
	}
	if f := byTo["nobody@example.com"]; f.Attempts != 1 || !strings.Contains(f.LastError, "550") || f.FailedAt.IsZero() {
		t.Errorf("refused recipient: %+v", f)
	}
	if f := byTo["not an address"]; f.Attempts != 1 || !strings.Contains(f.LastError, "invalid recipient") {
		t.Errorf("malformed recipient: %+v", f)
	}
	if got := srv.messages(); len(got) != 1 || got[0].To[0] != "<reader@example.com>" {
		t.Errorf("delivered %v", got)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	srv := newTestSMTP(t)
	srv.setRefuse(452, "mailbox full")
	db := openDB(t, "")
	enqueue(t, db, welcome("full@example.com"))
	opt := fastOptions(t)
	opt.MaxAttempts = 3
	startSender(t, db, srv.config(), opt)
	waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Failed == 1 })
	failed, _ := outbox.NewQueue(db).Failed(context.Background(), 10)
	if failed[0].Attempts != 3 || !strings.Contains(failed[0].LastError, "gave up after 3 attempts") ||
		!strings.Contains(failed[0].LastError, "452") {
		t.Errorf("failed = %+v", failed[0])
	}
}

func TestConcurrentNotify(t *testing.T) {
	srv := newTestSMTP(t)
	db := openDB(t, "")
	opt := fastOptions(t)
	opt.PollInterval = time.Hour // only Notify wakes it
	s := startSender(t, db, srv.config(), opt)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				enqueue(t, db, welcome(fmt.Sprintf("w%d-%d@example.com", w, i)))
				s.Notify()
				s.Notify()
			}
		})
	}
	wg.Wait()
	srv.waitFor(workers*each, 10*time.Second)
	waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == workers*each })
}

func TestNotifyAndStopBeforeStart(t *testing.T) {
	db := openDB(t, "")
	s, err := outbox.NewSender(outbox.NewQueue(db), outbox.SMTPConfig{Host: "127.0.0.1", Port: 1}, testFrom(t), outbox.SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Notify()
	s.Notify()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Start() // after Stop: does nothing
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStopFinishesCurrentMessage(t *testing.T) {
	srv := newTestSMTP(t)
	srv.setDelay(100 * time.Millisecond)
	db := openDB(t, "")
	var mails []outbox.Mail
	for i := range 10 {
		mails = append(mails, welcome(fmt.Sprintf("r%d@example.com", i)))
	}
	enqueue(t, db, mails...)
	s, err := outbox.NewSender(outbox.NewQueue(db), srv.config(), testFrom(t), fastOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	srv.waitFor(1, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := outbox.NewQueue(db).Counts(context.Background())
	got := srv.count()
	if got == 10 || int64(got) != c.Sent || c.Sent+c.Pending != 10 {
		t.Fatalf("after stop: server has %d, outbox %+v; want every accepted message marked sent and the rest pending", got, c)
	}
	// The untried rest was handed back: not counted as attempts, due now.
	var maxAttempts int
	var due int
	db.Read.QueryRow(`SELECT max(attempts), count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&maxAttempts, &due)
	if maxAttempts != 0 {
		t.Errorf("released messages have attempts %d, want 0", maxAttempts)
	}
}

func TestBackoff(t *testing.T) {
	base, limit := 5*time.Second, 15*time.Minute
	for attempts, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 8: 640 * time.Second, 9: limit, 30: limit} {
		for range 20 {
			got := outbox.Backoff(attempts, base, limit)
			if got < want*8/10 || got > want*12/10 {
				t.Errorf("Backoff(%d) = %v, want %v ±20%%", attempts, got, want)
			}
		}
	}
}

// TestEachAcceptedMessageIsRecordedAtOnce: a message the SMTP server has
// accepted is marked sent before the next one goes out, so a crash can
// repeat at most the message in flight, not a group of them.
func TestEachAcceptedMessageIsRecordedAtOnce(t *testing.T) {
	const accepted, total = 7, 20
	srv := newTestSMTP(t)
	release := srv.holdFromMessage(accepted + 1)
	db := openDB(t, "")
	var mails []outbox.Mail
	for i := range total {
		mails = append(mails, welcome(fmt.Sprintf("r%d@example.com", i)))
	}
	enqueue(t, db, mails...)
	startSender(t, db, srv.config(), fastOptions(t))
	srv.waitHeld(5 * time.Second)
	if got := srv.count(); got != accepted {
		t.Fatalf("server accepted %d before the hold, want %d", got, accepted)
	}
	// Message accepted+1 is in flight; the ones before it are recorded.
	c := waitCounts(t, db, 2*time.Second, func(c outbox.Counts) bool { return c.Sent == accepted })
	if c.Pending != total-accepted {
		t.Errorf("while message %d is in flight: %+v", accepted+1, c)
	}
	release()
	waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == total })
	if srv.count() != total {
		t.Errorf("server got %d messages, want %d", srv.count(), total)
	}
}

// senderProcessEnv names the database and SMTP server of a sender run in a
// child process, which the test then kills.
const senderProcessEnv = "SHELF_TEST_SENDER_PROCESS"

// TestSenderProcess is not a test on its own: run by
// TestClaimOfKilledSenderResentWithinSeconds in a child process, it starts
// a sender with the default options and waits to be killed.
func TestSenderProcess(t *testing.T) {
	spec := os.Getenv(senderProcessEnv)
	if spec == "" {
		t.Skip("runs only as a child process")
	}
	dbPath, smtpAddr, _ := strings.Cut(spec, "|")
	db := openDB(t, dbPath)
	host, port, _ := strings.Cut(smtpAddr, ":")
	var p int
	fmt.Sscan(port, &p)
	s, err := outbox.NewSender(outbox.NewQueue(db), outbox.SMTPConfig{Host: host, Port: p, NoTLS: true}, testFrom(t), outbox.SenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	time.Sleep(time.Minute) // killed long before
}

// TestClaimOfKilledSenderResentWithinSeconds: a process killed while
// sending leaves its message claimed. A sender started after it delivers
// the message within seconds, not after a long lease, and the repeated
// message keeps its Message-ID.
func TestClaimOfKilledSenderResentWithinSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a dead sender's claim to lapse")
	}
	srv := newTestSMTP(t)
	release := srv.holdFromMessage(1)
	path := filepath.Join(t.TempDir(), "shelf.db")
	db := openDB(t, path)
	enqueue(t, db, welcome("a@example.com"))

	child := exec.Command(os.Args[0], "-test.run=^TestSenderProcess$", "-test.count=1")
	child.Env = append(os.Environ(), senderProcessEnv+"="+path+"|"+srv.addr)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	srv.waitHeld(20 * time.Second)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed := time.Now()
	release() // the dead sender's message arrives after all, unconfirmed

	startSender(t, db, srv.config(), fastOptions(t))
	srv.waitFor(2, 20*time.Second)
	took := time.Since(killed)
	t.Logf("re-sent %v after the kill", took.Round(time.Millisecond))
	waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == 1 && c.Pending == 0 })
	got := srv.messages()
	if got[0].MessageID != got[1].MessageID {
		t.Errorf("the repeated message has Message-ID %q, the first %q", got[1].MessageID, got[0].MessageID)
	}
}

// TestLiveSendersClaimIsNotTaken: while one sender is slow to get a
// message accepted (longer than its lease), another sender on the same
// database does not send it too.
func TestLiveSendersClaimIsNotTaken(t *testing.T) {
	srv := newTestSMTP(t)
	release := srv.holdFromMessage(1)
	path := filepath.Join(t.TempDir(), "shelf.db")
	dbA, dbB := openDB(t, path), openDB(t, path)
	enqueue(t, dbA, welcome("a@example.com"))
	opt := fastOptions(t)
	// A's heartbeat renews every Lease/5; the lease leaves room for a
	// renewal delayed by a loaded machine (-race, parallel packages), which
	// at 300 ms let B take the claim about once in a few dozen runs.
	opt.Lease = time.Second
	startSender(t, dbA, srv.config(), opt)
	srv.waitHeld(5 * time.Second)

	startSender(t, dbB, srv.config(), opt)
	time.Sleep(3 * opt.Lease) // sender B polls every 10 ms meanwhile
	release()
	waitCounts(t, dbA, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == 1 })
	time.Sleep(100 * time.Millisecond)
	if n := srv.count(); n != 1 {
		t.Fatalf("the message was delivered %d times: the second sender took a live sender's claim", n)
	}
}
