package admiral_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// admiral.patch applies to the release of Admiral this module requires (its source from
// the module cache, verified against go.sum), the patched Admiral builds and passes go
// vet, and Admiral's own start-up (startAdmiralStateChecker, by name) runs the checker
// against a real sidecar: testdata/drleaseStateChecker_test.go, copied into the package.
func TestThePatchAppliesToAdmiralsRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Admiral: not in -short")
	}
	bin := os.Getenv("DRLEASE_BIN")
	if bin == "" {
		if os.Getenv("DRLEASE_REQUIRE_STORE") != "" {
			t.Fatal("DRLEASE_BIN is not set: run scripts/test.sh")
		}
		t.Skip("DRLEASE_BIN is not set: run scripts/test.sh")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	const goTool = "go" // the one running this test, on PATH

	// Admiral's source, as `go get` would fetch it.
	out := run(t, here, goTool, "mod", "download", "-json", "github.com/istio-ecosystem/admiral")
	var mod struct{ Version, Dir, Error string }
	if err := json.Unmarshal([]byte(out), &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v %s\n%s", err, mod.Error, out)
	}
	src := filepath.Join(t.TempDir(), "admiral@"+mod.Version)
	copyTree(t, mod.Dir, src)

	// The documented steps: apply the patch, `go get` this module (from the working tree:
	// no release carries it yet, so it is replaced, as clients/go/README.md shows).
	// In a repository of its own, so that git applies the patch there even when the
	// temporary directory is inside another one.
	run(t, src, "git", "init", "-q")
	run(t, src, "git", "apply", "-v", filepath.Join(here, "admiral.patch"))
	if err := os.RemoveAll(filepath.Join(src, ".git")); err != nil {
		t.Fatal(err)
	}
	run(t, src, goTool, "mod", "edit",
		"-replace=github.com/drlease/drlease/clients/go/admiral="+here,
		"-replace=github.com/drlease/drlease/clients/go="+filepath.Dir(here))
	// go get may raise a few of Admiral's requirements (what its dependencies need):
	// shown, as the README lists them.
	t.Logf("go get:\n%s", runWith(t, src, "", goTool, "get", "github.com/drlease/drlease/clients/go/admiral@v0.1.0"))

	// Admiral's own tests in that package are Admiral's business (and slow to build):
	// only ours runs there.
	pkg := filepath.Join(src, "admiral", "pkg", "clusters")
	tests, err := filepath.Glob(filepath.Join(pkg, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tests {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	ours, err := os.ReadFile(filepath.Join(here, "testdata", "drleaseStateChecker_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "drleaseStateChecker_test.go"), ours, 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	run(t, src, goTool, "build", "-o", filepath.Join(t.TempDir(), "admiral"), "./admiral/cmd/admiral")
	t.Logf("Admiral %s patched and built in %v", mod.Version, time.Since(start).Round(time.Second))
	vetPatched(t, src)
	out = run(t, src, goTool, "test", "-count=1", "-run", "^TestDrleaseStateCheckerSelectedByName$", "-v", "./admiral/pkg/clusters")
	if !strings.Contains(out, "--- PASS: TestDrleaseStateCheckerSelectedByName") {
		t.Fatalf("the test in Admiral's package did not run:\n%s", out)
	}
	t.Logf("in Admiral's package:\n%s", out)
}

// vetPatched runs go vet on the patched package. Admiral's own files there have findings
// of their own (copylocks, in v1.4.0): only findings in the files the patch touches
// fail the test, and the vet must have got as far as reporting on the package.
func vetPatched(t *testing.T, src string) {
	t.Helper()
	cmd := exec.Command("go", "vet", "./admiral/pkg/clusters")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly -buildvcs=false", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	theirs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.Contains(line, "drlease") || strings.Contains(line, "DRUtil.go"):
			t.Fatalf("go vet on the patched package: %s\n%s", line, out)
		case strings.HasPrefix(line, "admiral/pkg/clusters/") && strings.Contains(line, "copies lock value") ||
			strings.Contains(line, "passes lock by value"):
			theirs++
		default:
			t.Fatalf("go vet on the patched package did not get to its findings: %v\n%s", err, out)
		}
	}
	t.Logf("go vet: %d findings in Admiral's own files (copylocks), none in the patch's", theirs)
}

// run runs a command in dir, fails the test with its output if it fails, and returns its
// output. Go commands run with -mod=readonly: a go.sum entry missing is an error, not a
// download (and without VCS stamping: the copy is no repository).
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	return runWith(t, dir, "-mod=readonly", name, args...)
}

func runWith(t *testing.T, dir, goflags, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+goflags+" -buildvcs=false", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// copyTree copies the module cache's read-only tree into a writable one.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copying Admiral's source: %v", err)
	}
}
