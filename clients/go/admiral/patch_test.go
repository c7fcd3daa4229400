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

	"github.com/drlease/drlease/clients/go/internal/sidecar"
)

// admiral.patch applies to the release of Admiral this module requires (its source from
// the module cache, verified against go.sum), the patched Admiral builds and passes go
// vet, and Admiral's own start-up (startAdmiralStateChecker, by name) runs the checker
// against a real sidecar: testdata/drleaseStateChecker_test.go, copied into the package.
func TestThePatchAppliesToAdmiralsRelease(t *testing.T) {
	bin := drleaseBin(t)
	here := workDir(t)
	// Admiral's source, as `go get` would fetch it.
	out := run(t, here, "go", "mod", "download", "-json", "github.com/istio-ecosystem/admiral")
	var mod struct{ Version, Dir, Error string }
	if err := json.Unmarshal([]byte(out), &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v %s\n%s", err, mod.Error, out)
	}
	testPatch(t, bin, mod.Dir, "Admiral "+mod.Version, "admiral.patch", filepath.Join("testdata", "drleaseStateChecker_test.go"))
}

// admiral-master.patch, on a checkout of Admiral's master named by
// DRLEASE_ADMIRAL_MASTER_SRC (the Go module proxy does not serve master's commits, so
// this is not run by default): the same steps, with Admiral's start-up of master
// (initAdmiralStateChecker, then RunAdmiralStateCheck).
func TestThePatchAppliesToAdmiralsMaster(t *testing.T) {
	src := os.Getenv("DRLEASE_ADMIRAL_MASTER_SRC")
	if src == "" {
		t.Skip("DRLEASE_ADMIRAL_MASTER_SRC (a checkout of Admiral's master) is not set")
	}
	testPatch(t, drleaseBin(t), src, "Admiral master", "admiral-master.patch", filepath.Join("testdata", "master", "drleaseStateChecker_test.go"))
}

// testPatch copies Admiral's source from src, applies the patch, runs the documented
// go get, builds Admiral's command, vets the patched package and runs inTest there.
func testPatch(t *testing.T, bin, src, what, patch, inTest string) {
	here := workDir(t)
	dir := filepath.Join(t.TempDir(), "admiral")
	copyTree(t, src, dir)

	// The documented steps: apply the patch, `go get` this module (from the working tree:
	// no release carries it yet, so it is replaced, as clients/go/README.md shows). In a
	// repository of its own, so that git applies the patch there even when the temporary
	// directory is inside another one.
	run(t, dir, "git", "init", "-q")
	run(t, dir, "git", "apply", "-v", filepath.Join(here, patch))
	if err := os.RemoveAll(filepath.Join(dir, ".git")); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "go", "mod", "edit",
		"-replace=github.com/drlease/drlease/clients/go/admiral="+here,
		"-replace=github.com/drlease/drlease/clients/go="+filepath.Dir(here))
	// go get may raise a few of Admiral's requirements (what its dependencies need):
	// shown, as the README lists them.
	t.Logf("go get:\n%s", runWith(t, dir, "", "go", "get", "github.com/drlease/drlease/clients/go/admiral@v0.1.0"))

	// Admiral's own tests in that package are Admiral's business (and slow to build):
	// only ours runs there.
	pkg := filepath.Join(dir, "admiral", "pkg", "clusters")
	tests, err := filepath.Glob(filepath.Join(pkg, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tests {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	ours, err := os.ReadFile(filepath.Join(here, inTest))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "drleaseStateChecker_test.go"), ours, 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	run(t, dir, "go", "build", "-o", filepath.Join(t.TempDir(), "admiral"), "./admiral/cmd/admiral")
	t.Logf("%s patched and built in %v", what, time.Since(start).Round(time.Second))
	vetPatched(t, dir)
	out := run(t, dir, "env", "DRLEASE_BIN="+bin, "go", "test", "-count=1", "-run", "^TestDrleaseStateCheckerSelectedByName$", "-v", "./admiral/pkg/clusters")
	if !strings.Contains(out, "--- PASS: TestDrleaseStateCheckerSelectedByName") {
		t.Fatalf("the test in Admiral's package did not run:\n%s", out)
	}
	t.Logf("in Admiral's package:\n%s", out)
}

// drleaseBin is the sidecar binary (DRLEASE_BIN) as an absolute path; without it the
// test is skipped, unless scripts/test.sh runs it.
func drleaseBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Admiral: not in -short")
	}
	return sidecar.Bin(t)
}

// workDir is this module's directory (where go test runs the test).
func workDir(t *testing.T) string {
	t.Helper()
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return here
}

// vetPatched runs go vet on the patched package. Admiral's own files there have findings
// of their own (copylocks: 22 in v1.4.0, 33 on master at 6adfd2b): only findings in the
// files the patch touches fail the test, and the vet must have got as far as reporting
// on the package.
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
		case strings.Contains(line, "drlease") || strings.Contains(line, "DRUtil.go") ||
			strings.Contains(line, "admiralStateChecker.go"):
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

// copyTree copies Admiral's source (the module cache's tree is read-only) into a
// writable one.
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
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir // a checkout's history: not Admiral's source
		}
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
