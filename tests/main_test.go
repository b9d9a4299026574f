package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rookeryBin is the server binary under test, set by TestMain.
var rookeryBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("ROOKERY_BIN"); bin != "" {
		rookeryBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "rookery-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	rookeryBin = filepath.Join(dir, "rookery")
	if err := buildServer(rookeryBin); err != nil {
		fmt.Fprintln(os.Stderr, "tests: building cmd/rookery:", err)
		return 1
	}
	return m.Run()
}

// buildServer compiles cmd/rookery into out; the compile is bounded so a
// wedged toolchain cannot hang the test binary.
func buildServer(out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if os.Getenv("ROOKERY_BUILD_RACE") != "" {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/rookery")
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// moduleRoot is the directory holding rookery's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the rookery module")
	}
	return filepath.Dir(gomod), nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// TestBinaryUnknownCommand checks that the built binary runs at all and that an
// unknown subcommand fails with a non-zero exit code.
func TestBinaryUnknownCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, rookeryBin, "no-such-subcommand").CombinedOutput()
	if err == nil {
		t.Fatalf("rookery no-such-subcommand exited 0; output:\n%s", out)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("rookery did not run: %v", err)
	}
}
