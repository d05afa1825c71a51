package main

// End to end with several instances: three processes of the real binary on
// one PostgreSQL database, behind a round-robin balancer run by the test,
// sending mail to the test's SMTP server. A reader can't tell which
// instance answered, and killing one with SIGKILL in the middle of a burst
// of sign-ups loses no account and no mail.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"shelf/store/storetest"
)

// shelfProcess is one instance of the binary, serving.
type shelfProcess struct {
	name string
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

func startShelfProcess(t *testing.T, name string, env ...string) *shelfProcess {
	t.Helper()
	addr := freeLocalAddr(t)
	p := &shelfProcess{name: name, URL: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(shelfBinary(t), "serve")
	p.cmd.Env = append(os.Environ(), append([]string{"SHELF_ADDR=" + addr}, env...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("%s did not stop within 15 s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("%s log (last 30 lines):\n%s", name, tailLines(p.logs.String(), 30))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("%s exited before answering /healthz:\n%s", name, tailLines(p.logs.String(), 30))
		default:
		}
		// Only once this process says it listens: the port was free when
		// chosen, but another test's server may have taken it since, and
		// its /healthz must not pass for this one's.
		if strings.Contains(p.logs.String(), "addr="+p.URL+" ") {
			if resp, err := http.Get(p.URL + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 on /healthz within 60 s:\n%s", name, tailLines(p.logs.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process at once, as a crash or the OOM killer would.
func (p *shelfProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// balancer is a round-robin reverse proxy over the instances, as a load
// balancer in front of them would be: a request whose connection an
// instance refuses goes to the next one; one that reached an instance
// which then died answers 502 (the client is not told it worked). It adds
// X-Forwarded-For with the client address the request names in
// X-Test-Client, so the instances (trusting the balancer) see many
// clients.
type balancer struct {
	URL      string
	backends []*url.URL
	next     atomic.Uint64

	mu   sync.Mutex
	down map[string]time.Time // backend host -> when it may be tried again
}

func startBalancer(t *testing.T, addr string) *balancer {
	t.Helper()
	b := &balancer{URL: "http://" + addr, down: map[string]time.Time{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.Header.Del("X-Test-Client")
			if ip := r.In.Header.Get("X-Test-Client"); ip != "" {
				r.Out.Header.Set("X-Forwarded-For", ip)
			}
			r.Out.Host = r.In.Host
		},
		Transport: b,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *balancer) add(p *shelfProcess) {
	u, _ := url.Parse(p.URL)
	b.backends = append(b.backends, u)
}

// RoundTrip sends r to the next instance that is up, moving on while
// connections are refused. An instance that fails a request is left out
// for a few seconds, as balancers' passive health checks do.
func (b *balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	lastErr := errors.New("no instance is up")
	for range len(b.backends) {
		u := b.backends[b.next.Add(1)%uint64(len(b.backends))]
		b.mu.Lock()
		skip := time.Now().Before(b.down[u.Host])
		b.mu.Unlock()
		if skip {
			continue
		}
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		b.mu.Lock()
		b.down[u.Host] = time.Now().Add(5 * time.Second)
		b.mu.Unlock()
		lastErr = err
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err // the request may have reached it: not retried
		}
	}
	return nil, lastErr
}

// cluster is three instances of shelf on one PostgreSQL database, the
// balancer in front of them and the SMTP server they send to.
type cluster struct {
	dbURL     string
	smtp      *catchingSMTP
	lb        *balancer
	instances []*shelfProcess
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts three server processes: skipped under -short")
	}
	c := &cluster{dbURL: storetest.PostgresURL(t)}
	smtpAddr := freeLocalAddr(t)
	c.smtp = startCatchingSMTP(t, smtpAddr)
	lbAddr := freeLocalAddr(t)
	c.lb = startBalancer(t, lbAddr)
	env := []string{
		"SHELF_DB=" + c.dbURL,
		"SHELF_BASE_URL=" + c.lb.URL,
		"SHELF_SMTP_URL=smtp://" + smtpAddr + "?tls=none",
		"SHELF_TRUSTED_PROXIES=127.0.0.1/32",
		"SHELF_SECRET_KEY=" + strings.Repeat("ab", 32),
	}
	// All three start together on the empty database: one migrates it and
	// imports the bundled catalog, the others wait for it.
	var wg sync.WaitGroup
	c.instances = make([]*shelfProcess, 3)
	for i, name := range []string{"A", "B", "C"} {
		wg.Go(func() { c.instances[i] = startShelfProcess(t, name, env...) })
	}
	wg.Wait()
	for _, p := range c.instances {
		if p == nil {
			t.FailNow()
		}
		c.lb.add(p)
	}
	return c
}

func (c *cluster) db(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var confirmLink = regexp.MustCompile(`http://[^\s"<>]+/confirm/[A-Za-z0-9_-]+`)

// on rewrites a link built from the balancer's address to reach p directly.
func on(p *shelfProcess, link string) string {
	u, _ := url.Parse(link)
	return p.URL + u.RequestURI()
}

func TestClusterSignUpConfirmSignInAcrossInstances(t *testing.T) {
	c := startCluster(t)
	a, b, cc := c.instances[0], c.instances[1], c.instances[2]

	// Sign up on A.
	alice := newClient(t, a.URL)
	_, page, _ := alice.get(a.URL + "/register")
	status, _, hdr := alice.post(a.URL+"/register", url.Values{
		"_csrf": {csrfFrom(t, page)}, "email": {"alice@example.org"},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"},
	})
	if status != http.StatusSeeOther || hdr.Get("Location") != "/check-email" {
		t.Fatalf("sign-up on A: %d %q", status, hdr.Get("Location"))
	}
	// B serves the waiting page from the same pending sign-up.
	if status, body, _ := alice.get(b.URL + "/check-email"); status != http.StatusOK || !strings.Contains(body, "alice@example.org") {
		t.Fatalf("check-email on B: %d\n%s", status, body)
	}

	msg := c.smtp.next(t, 20*time.Second)
	link := confirmLink.FindString(msg.Text)
	if !strings.HasPrefix(link, c.lb.URL+"/confirm/") {
		t.Fatalf("confirmation link %q is not built from the base URL %s", link, c.lb.URL)
	}

	// Confirm on B, from another device.
	phone := newClient(t, b.URL)
	_, page, _ = phone.get(on(b, link))
	if status, body, _ := phone.post(on(b, link), url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK || !strings.Contains(body, "Address confirmed") {
		t.Fatalf("confirm on B: %d\n%s", status, body)
	}

	// The waiting page, asked of C, moves on at once.
	if status, _, hdr := alice.get(cc.URL + "/check-email"); status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
		t.Fatalf("check-email on C after confirming on B: %d %q, want a redirect to sign in", status, hdr.Get("Location"))
	}

	// Sign in on C; the session works on A and B.
	_, page, _ = alice.get(cc.URL + "/login")
	if status, _, _ := alice.post(cc.URL+"/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {"alice@example.org"}, "password": {"correct horse battery"}}); status != http.StatusSeeOther {
		t.Fatalf("sign in on C: %d", status)
	}
	for _, p := range []*shelfProcess{a, b, cc} {
		if status, body, _ := alice.get(p.URL + "/account"); status != http.StatusOK || !strings.Contains(body, "alice@example.org") {
			t.Fatalf("/account on %s after signing in on C: %d", p.name, status)
		}
	}

	// Alice's browser had not signed in before: its sign-in is mailed.
	notice := c.smtp.next(t, 20*time.Second)
	if notice.Subject != "New sign-in to your Shelf account" || !strings.Contains(notice.Text, c.lb.URL+"/security/not-me/") {
		t.Fatalf("second mail: %q\n%s", notice.Subject, notice.Text)
	}

	// Each mail was sent, once, by one of the three.
	time.Sleep(2 * time.Second) // time for a second copy to arrive, were one sent
	c.smtp.mu.Lock()
	extra := len(c.smtp.messages)
	c.smtp.mu.Unlock()
	if extra != 0 {
		t.Fatalf("%d more mails arrived after the confirmation and the new-sign-in notice", extra)
	}
}

func TestClusterImportIsSearchableOnEveryInstance(t *testing.T) {
	c := startCluster(t)
	csv := filepath.Join(t.TempDir(), "new.csv")
	if err := os.WriteFile(csv, []byte("title,authors,original_publication_year,isbn13,language_code,average_rating,ratings_count\n"+
		"Zyxwvut Quarterly Almanac,Imogen Vantablack,2026,,eng,4.1,12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(shelfBinary(t), "import", "-db", c.dbURL, csv).CombinedOutput()
	if err != nil {
		t.Fatalf("shelf import: %v\n%s", err, out)
	}
	imported := time.Now()
	for _, p := range c.instances {
		for {
			status, body := plainGet(t, p.URL+"/search?q=zyxwvut")
			if status == http.StatusOK && strings.Contains(body, "Quarterly Almanac") {
				break
			}
			if time.Since(imported) > 2*time.Second {
				t.Fatalf("instance %s does not find the imported book 2 s after the import ended (status %d)", p.name, status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("the imported book was found on all three instances %v after the import ended", time.Since(imported).Round(time.Millisecond))
}

func plainGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestClusterKillNineDuringSignUps(t *testing.T) {
	c := startCluster(t)
	victim := c.instances[1]
	db := c.db(t)
	c.smtp.delay.Store(int64(40 * time.Millisecond)) // so the victim dies with mail in flight

	const workers, each = 6, 12
	var (
		mu    sync.Mutex
		saved = map[string]bool{} // addresses whose sign-up was answered "check your email"
		tried = map[string]int{}
	)
	var started atomic.Int64
	killed := make(chan int) // the mails the victim had in flight when it died
	go func() {
		for started.Load() < workers*each/3 {
			time.Sleep(5 * time.Millisecond)
		}
		pid := victim.cmd.Process.Pid
		victim.kill(t)
		var inFlight int
		err := db.QueryRow(`SELECT count(*) FROM outbox WHERE sent_at IS NULL AND claimed_by LIKE $1`, fmt.Sprintf("%%/%d/%%", pid)).Scan(&inFlight)
		if err != nil {
			t.Error(err)
		}
		killed <- inFlight
	}()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				email := fmt.Sprintf("burst-%d-%d@example.org", w, i)
				client := fmt.Sprintf("10.%d.%d.1", w, i)
				started.Add(1)
				// A reader whose page failed (the instance died under
				// them) submits again, as people do.
				for range 3 {
					mu.Lock()
					tried[email]++
					mu.Unlock()
					if signUpThrough(t, c.lb.URL, client, email) {
						mu.Lock()
						saved[email] = true
						mu.Unlock()
						break
					}
				}
			}
		})
	}
	wg.Wait()
	inFlight := <-killed

	// Every queued mail is delivered, the victim's claimed ones by another
	// instance once its claims lapse.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var pending int
		if err := db.QueryRow(`SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails still unsent 30 s after the burst", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the last deliveries' copies, if any, arrive

	// No account told saved is lost, and each has its mail.
	c.smtp.mu.Lock()
	delivered := append([]devinboxMessage(nil), toMessages(c.smtp)...)
	c.smtp.mu.Unlock()
	byID := map[string]int{}
	byRecipient := map[string]int{}
	for _, m := range delivered {
		byID[m.id]++
		byRecipient[m.to]++
	}
	for email := range saved {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM users WHERE email = $1`, email).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s was told its sign-up was saved, but has %d accounts (%v)", email, n, err)
		}
		if byRecipient[email] == 0 {
			t.Errorf("%s was told to check its mail, but no mail reached it", email)
		}
	}
	// Every mail the outbox holds arrived; copies only of the victim's.
	rows, err := db.Query(`SELECT message_id FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	queued := 0
	for rows.Next() {
		var id string
		rows.Scan(&id)
		queued++
		if byID[id] == 0 {
			t.Errorf("mail %s was queued but never delivered", id)
		}
	}
	rows.Close()
	copies := 0
	for _, n := range byID {
		copies += n - 1
	}
	if copies > inFlight {
		t.Errorf("%d mails delivered twice; only the %d the killed instance had in flight may be", copies, inFlight)
	}
	if len(saved) != workers*each {
		t.Errorf("%d of %d sign-ups succeeded, in up to 3 tries each, with two instances up", len(saved), workers*each)
	}
	t.Logf("%d sign-ups saved, %d mails queued, %d delivered, %d copies, %d in flight at the kill", len(saved), queued, len(delivered), copies, inFlight)
}

type devinboxMessage struct{ id, to string }

func toMessages(c *catchingSMTP) []devinboxMessage {
	out := make([]devinboxMessage, 0, len(c.messages))
	for _, m := range c.messages {
		to := ""
		if len(m.To) > 0 {
			to = strings.Trim(m.To[0], "<>")
			if i := strings.LastIndex(to, "<"); i >= 0 {
				to = strings.TrimSuffix(to[i+1:], ">")
			}
		}
		id, _, _ := strings.Cut(m.MessageID, "@") // the outbox's message_id, then "@" and the sender's domain
		out = append(out, devinboxMessage{id: id, to: to})
	}
	return out
}

// signUpThrough signs up email through the balancer as a browser at client
// would, and reports whether it was told to check its mail.
func signUpThrough(t *testing.T, base, client, email string) bool {
	cl := newClient(t, base)
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("X-Test-Client", client)
		return cl.http.Do(req)
	}
	resp, err := get("/register")
	if err != nil {
		return false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return false
	}
	form := url.Values{"_csrf": {string(m[1])}, "email": {email},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/register", bytes.NewBufferString(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Client", client)
	resp, err = cl.http.Do(req)
	if err != nil {
		t.Logf("sign-up of %s: %v", email, err)
		return false
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Logf("sign-up of %s: %d %.300s", email, resp.StatusCode, answer)
	}
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/check-email"
}
