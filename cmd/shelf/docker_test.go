package main

// The container image (Dockerfile).
//
// TestDockerImage builds the image's real final stage from the static binary
// built here (FILES_FROM=prebuilt), so it pulls nothing from a registry, and
// runs it. It needs a Docker daemon: it skips without one, but fails under
// CI=true, where .ci/docker starts one. Only the build stage, which compiles
// in the golang image, needs a registry.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// repoRoot is where Dockerfile and compose.yaml are, seen from this package.
const repoRoot = "../.."

// dockerCLI is a docker client that builds with BuildKit, talking to a
// daemon that answers.
type dockerCLI struct {
	exe string
}

// needDocker is the first call of every test that runs containers. It skips
// under -short, and finds a docker client that can build with BuildKit (the
// Dockerfile needs it) and a daemon that answers: without them the test
// skips locally but fails in CI (CI=true), where a skipped test would hide a
// broken setup.
func needDocker(t *testing.T) dockerCLI {
	t.Helper()
	if testing.Short() {
		t.Skip("container test: skipped under -short")
	}
	var why []string
	var candidates []string
	if p, err := exec.LookPath("docker"); err == nil {
		candidates = append(candidates, p)
	}
	// Debian's docker.io client, for when the docker on PATH is a newer one
	// without the buildx plugin (which its BuildKit builds need).
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		candidates = append(candidates, "/usr/bin/docker")
	}
	for _, exe := range slices.Compact(candidates) {
		d := dockerCLI{exe}
		server, err := d.output(10*time.Second, "version", "--format", "{{.Server.Version}}")
		if err != nil {
			why = append(why, fmt.Sprintf("%s: no daemon answers: %v", exe, err))
			continue
		}
		if err := d.canBuildKit(); err != nil {
			why = append(why, fmt.Sprintf("%s: %v", exe, err))
			continue
		}
		t.Logf("docker: %s, daemon %s", exe, server)
		return d
	}
	if len(why) == 0 {
		why = append(why, "no docker client installed")
	}
	msg := "no usable Docker (" + strings.Join(why, "; ") + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI must start one (.ci/docker)")
	}
	t.Skip(msg + "; skipping the container test (it fails instead when CI=true; .ci/docker starts a daemon)")
	return dockerCLI{}
}

// canBuildKit reports whether DOCKER_BUILDKIT=1 docker build uses BuildKit:
// through the buildx plugin, or built in (clients before 23).
func (d dockerCLI) canBuildKit() error {
	if _, err := d.output(10*time.Second, "buildx", "version"); err == nil {
		return nil
	}
	v, err := d.output(10*time.Second, "version", "--format", "{{.Client.Version}}")
	if err != nil {
		return err
	}
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.Atoi(major); err == nil && n < 23 {
		return nil
	}
	return fmt.Errorf("client %s has no buildx plugin, which its BuildKit builds need", v)
}

func (d dockerCLI) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.exe, args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
	return cmd
}

// output runs docker and returns its trimmed standard output.
func (d dockerCLI) output(timeout time.Duration, args ...string) (string, error) {
	return d.outputIn(timeout, nil, args...)
}

func (d dockerCLI) outputIn(timeout time.Duration, stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := d.command(ctx, args...)
	cmd.Stdin = stdin
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// must runs docker and fails the test if it fails.
func (d dockerCLI) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := d.output(2*time.Minute, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cleanup runs docker when the test ends, ignoring failures.
func (d dockerCLI) cleanup(t *testing.T, args ...string) {
	t.Cleanup(func() { d.output(time.Minute, args...) })
}

func randomName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// buildImage builds the Dockerfile's final stage with its files from a
// directory made here (FILES_FROM=prebuilt): the static binary, the CA
// certificates of this machine and Go's time zone database. It returns the
// image's tag, removed when the test ends.
func buildImage(t *testing.T, d dockerCLI) string {
	t.Helper()
	files := filepath.Join(t.TempDir(), "files")
	if err := os.Mkdir(files, 0o755); err != nil {
		t.Fatal(err)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	for name, from := range map[string]string{
		"shelf":               shelfBinary(t),
		"ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt",
		"zoneinfo.zip":        filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"),
	} {
		copyFile(t, from, filepath.Join(files, name))
	}
	dockerfile, err := filepath.Abs(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	tag := randomName("shelf-test:")
	start := time.Now()
	d.must(t, "build", "--quiet", "--file", dockerfile, "--build-arg", "FILES_FROM=prebuilt", "--tag", tag, filepath.Dir(files))
	d.cleanup(t, "rmi", "--force", tag)
	t.Logf("built %s in %s", tag, time.Since(start).Round(time.Millisecond))
	return tag
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// container is one running container of the image under test.
type container struct {
	d    dockerCLI
	name string
	URL  string // http://127.0.0.1:PORT, published from the container's 8080
}

// runContainer starts the image with its data in volume and waits until
// Docker reports it healthy: the image's HEALTHCHECK, `shelf healthcheck`
// run inside it, passes. The container is removed when the test ends.
func runContainer(t *testing.T, d dockerCLI, image, volume string) *container {
	t.Helper()
	addr := freeLocalAddr(t)
	c := &container{d: d, name: randomName("shelf-test-"), URL: "http://" + addr}
	d.cleanup(t, "rm", "--force", "--volumes", c.name)
	d.must(t, "run", "--detach", "--name", c.name,
		"--publish", addr+":8080",
		"--volume", volume+":/data",
		// The image's health check, checked every 200ms rather than 10s.
		"--health-interval", "200ms",
		// On every interface the dev inbox would show mail to anyone, so the
		// image does not start without an SMTP server. Nothing here sends
		// mail: this one need not exist.
		"--env", "SHELF_SMTP_URL=smtp://127.0.0.1:1025?tls=none",
		"--env", "SHELF_BASE_URL="+c.URL,
		image)
	deadline := time.Now().Add(time.Minute)
	for {
		status := d.must(t, "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", c.name)
		if status == "running healthy" {
			break
		}
		if !strings.HasPrefix(status, "running") || time.Now().After(deadline) {
			t.Fatalf("container %s is %q, want it running and healthy within a minute; log:\n%s", c.name, status, c.logs(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s (last 40 lines):\n%s", c.name, tailLines(c.logs(t), 40))
		}
	})
	return c
}

func (c *container) logs(t *testing.T) string {
	t.Helper()
	cmd := c.d.command(context.Background(), "logs", c.name)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestDockerImage checks the image: it reports itself healthy and answers
// /healthz on its published port; it stops cleanly, within 10 s, on the
// SIGTERM of docker stop; and an account created in it is still there in a
// new container on the same /data volume.
func TestDockerImage(t *testing.T) {
	d := needDocker(t)
	image := buildImage(t, d)

	user := d.must(t, "image", "inspect", "--format", "{{.Config.User}}", image)
	if user == "" || user == "0" || strings.HasPrefix(user, "0:") || strings.HasPrefix(user, "root") {
		t.Errorf("the image runs as %q, want a non-root user", user)
	}

	volume := randomName("shelf-test-data-")
	d.must(t, "volume", "create", volume)
	d.cleanup(t, "volume", "rm", "--force", volume)

	first := runContainer(t, d, image, volume)
	resp, err := http.Get(first.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz on the published port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("GET /healthz: %s %q, want 200 ok", resp.Status, body)
	}

	const email, password = "keeper@example.org", "correct horse battery staple"
	out, err := d.outputIn(time.Minute, strings.NewReader(password+"\n"),
		"exec", "--interactive", first.name, "/shelf", "create-admin", "--email", email, "--password-stdin")
	if err != nil || !strings.Contains(out, "created admin "+email) {
		t.Fatalf("shelf create-admin in the container: %q, %v", out, err)
	}

	// docker stop sends SIGTERM and, after 10 s, SIGKILL.
	start := time.Now()
	d.must(t, "stop", "--time", "10", first.name)
	took := time.Since(start)
	state := d.must(t, "inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", first.name)
	if state != "0 false" || took >= 10*time.Second {
		t.Errorf("docker stop: exit code and OOM-killed %q after %s; want \"0 false\" within 10 s", state, took.Round(time.Millisecond))
	}
	if logs := first.logs(t); !strings.Contains(logs, "msg=stopped") {
		t.Errorf("the log does not end with the server stopping:\n%s", tailLines(logs, 10))
	}
	t.Logf("docker stop took %s", took.Round(time.Millisecond))
	d.must(t, "rm", first.name)

	// A new container on the same volume: the account is there.
	second := runContainer(t, d, image, volume)
	client := newClient(t, second.URL)
	_, page, _ := client.get("/login")
	status, _, hdr := client.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {password}})
	if status != http.StatusSeeOther {
		t.Fatalf("sign in as %s in a new container on the same volume: %d (Location %q), want 303", email, status, hdr.Get("Location"))
	}
	if status, body, _ := client.get("/account"); status != http.StatusOK || !strings.Contains(body, email) {
		t.Fatalf("/account after signing in: %d, want 200 naming %s", status, email)
	}
}
