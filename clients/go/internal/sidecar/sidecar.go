// Package sidecar starts real drlease processes for the Go tests: the binary from
// DRLEASE_BIN (built by scripts/test.sh), on free loopback ports.
package sidecar

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

type Sidecar struct {
	Identity string
	Port     int
	Args     []string
	cmd      *exec.Cmd
	logPath  string
	t        *testing.T
}

// Bin is the drlease binary; the test is skipped without it (a bare `go test`), and
// fails under the test script, which always sets it.
func Bin(t *testing.T) string {
	bin := os.Getenv("DRLEASE_BIN")
	if bin == "" {
		if os.Getenv("DRLEASE_REQUIRE_STORE") != "" {
			t.Fatal("DRLEASE_BIN is not set: run scripts/test.sh")
		}
		t.Skip("DRLEASE_BIN is not set: run scripts/test.sh")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func FreePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs `drlease run ARGS --identity ID --listen 127.0.0.1:PORT`.
func Start(t *testing.T, identity string, args ...string) *Sidecar {
	s := &Sidecar{Identity: identity, Port: FreePort(t), Args: args, t: t}
	s.spawn()
	t.Cleanup(s.Kill)
	return s
}

func (s *Sidecar) spawn() {
	s.logPath = filepath.Join(s.t.TempDir(), fmt.Sprintf("%s-%d.log", s.Identity, s.Port))
	log, err := os.Create(s.logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	args := append([]string{"run"}, s.Args...)
	args = append(args, "--identity", s.Identity, "--listen", fmt.Sprintf("127.0.0.1:%d", s.Port))
	s.cmd = exec.Command(Bin(s.t), args...)
	s.cmd.Env = append(os.Environ(), "RUST_LOG=drlease=info")
	s.cmd.Stderr = log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
}

// Restart starts it again (after Kill9 or Wait) with the same identity, port and args.
func (s *Sidecar) Restart() { s.spawn() }

func (s *Sidecar) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.Port) }

func (s *Sidecar) Logs() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *Sidecar) Signal(sig syscall.Signal) {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

func (s *Sidecar) Kill9() {
	s.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

// Wait waits for the process to exit.
func (s *Sidecar) Wait() { _ = s.cmd.Wait() }

func (s *Sidecar) Kill() {
	if s.cmd != nil && s.cmd.ProcessState == nil {
		s.Kill9()
	}
}

// Active asks /active once.
func (s *Sidecar) Active() bool {
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get(s.URL() + "/active")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// View is one /role answer: the role, the holder and the tenure (epoch), decided
// together. Asked separately, two of them could belong to two different tenures.
type View struct {
	Role   string `json:"role"`
	Holder string `json:"holder"`
	Epoch  uint64 `json:"epoch"`
}

// View asks /role once.
func (s *Sidecar) View() (View, bool) {
	var v View
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get(s.URL() + "/role")
	if err != nil {
		return v, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&v) != nil {
		return v, false
	}
	return v, true
}

// Startup bounds a wait that includes starting a process: a guard against a hang, not a
// claim about speed (a loaded machine has taken seconds to start one).
const Startup = 30 * time.Second

// WaitFor polls cond every millisecond up to limit; returns how long it took, or -1.
func WaitFor(limit time.Duration, cond func() bool) time.Duration {
	start := time.Now()
	for time.Since(start) < limit {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	return -1
}

// Drlease runs a drlease subcommand (create-table, handover) and returns its output.
func Drlease(t *testing.T, args ...string) (string, error) {
	out, err := exec.Command(Bin(t), args...).CombinedOutput()
	return string(out), err
}
