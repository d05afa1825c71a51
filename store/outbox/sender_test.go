package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/storetest"
)

// openDB opens the database source names (a SQLite file or a PostgreSQL
// URL), as another instance would; "" is a fresh SQLite file.
func openDB(t testing.TB, source string) *store.DB {
	t.Helper()
	if source == "" {
		return storetest.Open(t)
	}
	db, err := store.Open(context.Background(), source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// source names db's database the way store.Open takes it, for opening it
// again as another instance would.
func source(db *store.DB) string {
	if db.Backend == store.Postgres {
		return db.URL
	}
	return db.Path
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
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
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
	})
}

func TestSMTPDownThenBackLosesNothing(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
		srv.down()
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
	})
}

func TestRestartDeliversLeftovers(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
		srv.down()
		ctx := context.Background()

		// First run: mail is queued while the server is down; the sender tries,
		// then the app stops.
		path := source(db)
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
	})
}

func TestLeaseExpiryAfterCrash(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
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
	})
}

func TestPermanentFailureIsRecordedAndListed(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
		srv.refuseRecipient("nobody@example.com", 550, "5.1.1 no such user")
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
	})
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
		srv.setRefuse(452, "mailbox full")
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
	})
}

func TestConcurrentNotify(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
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
	})
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
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		srv := newTestSMTP(t)
		srv.setDelay(100 * time.Millisecond)
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
	})
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
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		const accepted, total = 7, 20
		srv := newTestSMTP(t)
		release := srv.holdFromMessage(accepted + 1)
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
	})
}

// senderProcessEnv carries a senderProcess, as JSON, to a sender run in a
// child process, which the test then kills.
const senderProcessEnv = "SHELF_TEST_SENDER_PROCESS"

// senderProcess is what a child process's sender delivers, where to, and
// how: zero options take the defaults.
type senderProcess struct {
	Source    string        // the database, as store.Open takes it
	SMTP      string        // host:port, in clear
	From      string        // "" is testFrom's
	Lease     time.Duration // 0: the default
	BatchSize int           // 0: the default
}

// TestSenderProcess is not a test on its own: run by startSenderProcess in
// a child process, it starts a sender as senderProcessEnv describes and
// waits to be killed.
func TestSenderProcess(t *testing.T) {
	spec := os.Getenv(senderProcessEnv)
	if spec == "" {
		t.Skip("runs only as a child process")
	}
	var p senderProcess
	if err := json.Unmarshal([]byte(spec), &p); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, p.Source)
	host, port, _ := net.SplitHostPort(p.SMTP)
	portNum, _ := strconv.Atoi(port)
	from := testFrom(t)
	if p.From != "" {
		var err error
		if from, err = outbox.ParseFrom(p.From); err != nil {
			t.Fatal(err)
		}
	}
	s, err := outbox.NewSender(outbox.NewQueue(db), outbox.SMTPConfig{Host: host, Port: portNum, NoTLS: true}, from,
		outbox.SenderOptions{Lease: p.Lease, BatchSize: p.BatchSize})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	time.Sleep(time.Minute) // killed long before
}

// startSenderProcess runs a sender in a child process, as another instance
// would, and returns a function that kills it at once (SIGKILL: no clean
// stop, its claims stay in the outbox) and returns when it is gone.
func startSenderProcess(t *testing.T, p senderProcess) (kill func()) {
	t.Helper()
	spec, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestSenderProcess$", "-test.count=1")
	child.Env = append(os.Environ(), senderProcessEnv+"="+string(spec))
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Error(err)
			}
			child.Wait()
		})
	}
	t.Cleanup(kill)
	return kill
}

// TestClaimOfKilledSenderResentWithinSeconds: a process killed while
// sending leaves its message claimed. A sender started after it delivers
// the message within seconds, not after a long lease, and the repeated
// message keeps its Message-ID.
func TestClaimOfKilledSenderResentWithinSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a dead sender's claim to lapse")
	}
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		t.Parallel() // each waits out the default lease
		srv := newTestSMTP(t)
		release := srv.holdFromMessage(1)
		enqueue(t, db, welcome("a@example.com"))

		kill := startSenderProcess(t, senderProcess{Source: source(db), SMTP: srv.addr})
		srv.waitHeld(20 * time.Second)
		kill()
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
	})
}

// startInstances starts n senders on db's database, each with its own
// connections and its own From address (sender<i>@shelf.test), as n
// instances of Shelf would.
func startInstances(t testing.TB, db *store.DB, n int, cfg outbox.SMTPConfig, opt outbox.SenderOptions) []*outbox.Sender {
	t.Helper()
	var senders []*outbox.Sender
	for i := range n {
		from, err := outbox.ParseFrom(fmt.Sprintf("sender%d@shelf.test", i))
		if err != nil {
			t.Fatal(err)
		}
		s, err := outbox.NewSender(outbox.NewQueue(openDB(t, source(db))), cfg, from, opt)
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
		senders = append(senders, s)
	}
	return senders
}

func manyMails(n int) []outbox.Mail {
	mails := make([]outbox.Mail, n)
	for i := range mails {
		mails[i] = welcome(fmt.Sprintf("r%d@example.com", i))
	}
	return mails
}

// TestSeveralInstancesDeliverEachMailOnce: senders on several instances
// drain one outbox side by side, and each message is delivered once.
func TestSeveralInstancesDeliverEachMailOnce(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		const instances, total = 4, 300
		srv := newTestSMTP(t)
		srv.setDelay(time.Millisecond) // so no one sender drains it all before the others look
		opt := fastOptions(t)
		opt.BatchSize = 10
		senders := startInstances(t, db, instances, srv.config(), opt)
		enqueue(t, db, manyMails(total)...)
		for _, s := range senders {
			s.Notify()
		}
		waitCounts(t, db, 20*time.Second, func(c outbox.Counts) bool { return c.Sent == total })
		time.Sleep(50 * time.Millisecond) // a duplicate would arrive meanwhile

		byID := map[string]int{}
		for _, m := range srv.messages() {
			byID[m.MessageID]++
		}
		if len(byID) != total || srv.count() != total {
			t.Fatalf("server got %d messages, %d distinct; want %d, each once", srv.count(), len(byID), total)
		}
		bySender := map[string]int{}
		for _, from := range srv.envelopeSenders() {
			bySender[from]++
		}
		t.Logf("delivered per instance: %v", bySender)
		if len(bySender) < 2 {
			t.Errorf("only %v delivered: the instances did not share the work", bySender)
		}
	})
}

// TestKilledInstancesMailTakenOverByOthers: of several instances draining
// one outbox, one is killed while its SMTP server has not yet accepted the
// message it is sending. The others deliver the rest of its claimed batch
// within seconds; only the message it had in flight goes out twice, with
// the same Message-ID, and nothing else is repeated.
func TestKilledInstancesMailTakenOverByOthers(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		const total, batch, lease = 100, 20, time.Second
		srv := newTestSMTP(t)
		release := srv.holdMailFrom("doomed@shelf.test")
		enqueue(t, db, manyMails(total)...)

		kill := startSenderProcess(t, senderProcess{
			Source: source(db), SMTP: srv.addr, From: "doomed@shelf.test", Lease: lease, BatchSize: batch,
		})
		srv.waitHeld(20 * time.Second) // it claimed a batch and is sending its first message
		opt := fastOptions(t)
		// The live instances hold their claims longer: on a loaded machine
		// one's heartbeat came later than its 1 s lease once, and another
		// instance took over its batch of 7 and sent it again (108
		// messages). The doomed instance's claims still fall due after its
		// own 1 s lease, which is what this test times.
		opt.Lease, opt.BatchSize = 5*lease, 7
		startInstances(t, db, 3, srv.config(), opt)
		// The live instances deliver everything but the doomed one's batch.
		srv.waitFor(total-batch, 10*time.Second)
		kill()
		killed := time.Now()
		release() // its message in flight arrives after all, unconfirmed

		waitCounts(t, db, 10*time.Second, func(c outbox.Counts) bool { return c.Sent == total && c.Pending == 0 })
		took := time.Since(killed)
		t.Logf("the killed instance's batch delivered %v after the kill (lease %v)", took.Round(time.Millisecond), lease)
		if took > lease+3*time.Second {
			t.Errorf("took %v after the kill to deliver the killed instance's mail", took)
		}
		time.Sleep(50 * time.Millisecond) // a further duplicate would arrive meanwhile

		msgs, froms := srv.messages(), srv.envelopeSenders()
		byID := map[string]int{}
		inFlight := ""
		for i, m := range msgs {
			byID[m.MessageID]++
			if froms[i] == "doomed@shelf.test" {
				if inFlight != "" {
					t.Fatalf("the killed instance delivered %s and %s; only one was in flight", inFlight, m.MessageID)
				}
				inFlight = m.MessageID
			}
		}
		if len(msgs) != total+1 || len(byID) != total {
			t.Fatalf("server got %d messages, %d distinct; want %d distinct, one of them twice", len(msgs), len(byID), total)
		}
		for id, n := range byID {
			if n > 1 && id != inFlight {
				t.Errorf("message %s delivered %d times, though it was not in flight when its sender died", id, n)
			}
		}
		if byID[inFlight] != 2 {
			t.Errorf("the message in flight (%q) was delivered %d times, want twice", inFlight, byID[inFlight])
		}
		// Exactly the killed instance's batch was claimed twice.
		var twice int
		if err := db.Read.QueryRow(`SELECT count(*) FROM outbox WHERE attempts = 2`).Scan(&twice); err != nil {
			t.Fatal(err)
		}
		if twice != batch {
			t.Errorf("%d messages were attempted twice, want the %d of the killed instance's batch", twice, batch)
		}
	})
}

// TestLiveSendersClaimIsNotTaken: while one sender is slow to get a
// message accepted (longer than its lease), another sender on the same
// database does not send it too.
func TestLiveSendersClaimIsNotTaken(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		t.Parallel() // each waits out several leases
		srv := newTestSMTP(t)
		release := srv.holdFromMessage(1)
		dbA, dbB := db, openDB(t, source(db))
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
	})
}
