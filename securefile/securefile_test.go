//go:build unix

package securefile_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mynacard/freespace/securefile"
)

func TestOpen(t *testing.T) {
	other := 65534 // nobody
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir string) string
		policy securefile.Policy
		want   securefile.Problem // 0: accepted
	}{
		{"secret 0600", file(0o600), secret, 0},
		{"secret 0640", file(0o640), secret, securefile.SecretAccessible},
		{"secret 0604", file(0o604), secret, securefile.SecretAccessible},
		{"plain 0664", file(0o664), plain, 0},
		{"plain 0644", file(0o644), plain, 0},
		{"plain 0666", file(0o666), plain, securefile.WorldWritable},
		{"owned by another user", func(t *testing.T, dir string) string {
			p := file(0o600)(t, dir)
			chown(t, p, other)
			return p
		}, plain, securefile.BadOwner},
		{"symlink to a good file", func(t *testing.T, dir string) string {
			p := file(0o600)(t, dir)
			l := filepath.Join(dir, "link")
			if err := os.Symlink(p, l); err != nil {
				t.Fatal(err)
			}
			return l
		}, secret, securefile.Symlink},
		{"fifo", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, plain, securefile.NotRegular},
		{"directory", func(t *testing.T, dir string) string { return dir }, plain, securefile.NotRegular},
		{"world-writable directory", func(t *testing.T, dir string) string {
			p := file(0o600)(t, dir)
			chmod(t, dir, 0o777)
			return p
		}, secret, securefile.DirWorldWritable},
		{"sticky world-writable directory", func(t *testing.T, dir string) string {
			p := file(0o600)(t, dir)
			chmod(t, dir, os.ModeSticky|0o777)
			return p
		}, secret, 0},
		{"group-writable directory", func(t *testing.T, dir string) string {
			p := file(0o600)(t, dir)
			chmod(t, dir, 0o775)
			return p
		}, secret, 0},
		{"directory owned by another user", func(t *testing.T, dir string) string {
			p := file(0o600)(t, dir)
			chown(t, dir, other)
			return p
		}, secret, securefile.DirBadOwner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			chmod(t, dir, 0o700)
			path := tt.setup(t, dir)
			done := make(chan struct{})
			var f *os.File
			var err error
			go func() { f, err = securefile.Open(path, tt.policy); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Open hung")
			}
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				f.Close()
				return
			}
			if err == nil {
				f.Close()
				t.Fatalf("Open accepted %s", path)
			}
			var e *securefile.Error
			if !errors.As(err, &e) || !errors.Is(err, securefile.ErrInsecure) {
				t.Fatalf("error %v (%T) is not a *securefile.Error", err, err)
			}
			if e.Problem != tt.want {
				t.Fatalf("Problem = %v, want %v (%v)", e.Problem, tt.want, err)
			}
			if e.Path != path {
				t.Errorf("Path = %q, want %q", e.Path, path)
			}
		})
	}
}

func TestErrorFactsAndRemedy(t *testing.T) {
	dir := t.TempDir()
	p := file(0o644)(t, dir)
	_, err := securefile.Open(p, secret)
	var e *securefile.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if e.Mode.Perm() != 0o644 || e.Owner != os.Geteuid() || !e.Secret {
		t.Errorf("facts: mode %o owner %d secret %v", e.Mode.Perm(), e.Owner, e.Secret)
	}
	if got := e.Remedy(); got != "chmod 600 "+p {
		t.Errorf("Remedy = %q", got)
	}
	if s := err.Error(); s != p+" is accessible by group or others (mode 0644)" {
		t.Errorf("Error = %q", s)
	}
}

func TestCreateSecret(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	chmod(t, dir, 0o700)
	p := filepath.Join(dir, "seed")
	if err := securefile.WriteSecret(p, []byte("x")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	// An existing file (the same one, or a 0666 one planted by another
	// user) is never reused.
	if err := securefile.WriteSecret(p, []byte("y")); !isProblem(err, securefile.Exists) {
		t.Fatalf("second create: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "x" {
		t.Fatalf("existing file changed to %q", b)
	}
	// A dangling symlink is not followed.
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := securefile.WriteSecret(link, []byte("z")); !isProblem(err, securefile.Exists) {
		t.Fatalf("symlink create: %v", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Fatalf("symlink target created: %v", err)
	}
	// A world-writable directory is refused.
	chmod(t, dir, 0o777)
	if err := securefile.WriteSecret(filepath.Join(dir, "new"), nil); !isProblem(err, securefile.DirWorldWritable) {
		t.Fatalf("world-writable dir: %v", err)
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	chmod(t, dir, 0o755)
	if err := securefile.CheckDir(dir, plain); err != nil {
		t.Fatal(err)
	}
	chmod(t, dir, 0o757)
	if err := securefile.CheckDir(dir, plain); !isProblem(err, securefile.WorldWritable) {
		t.Fatalf("got %v", err)
	}
	chmod(t, dir, 0o775)
	if err := securefile.CheckDir(dir, secret); !isProblem(err, securefile.WorldWritable) {
		t.Fatalf("secret group-writable: %v", err)
	}
	chmod(t, dir, 0o700)
	chown(t, dir, 65534)
	if err := securefile.CheckDir(dir, plain); !isProblem(err, securefile.BadOwner) {
		t.Fatalf("got %v", err)
	}
}

var (
	secret = securefile.Policy{Secret: true}
	plain  = securefile.Policy{}
)

func isProblem(err error, p securefile.Problem) bool {
	var e *securefile.Error
	return errors.As(err, &e) && e.Problem == p
}

func file(mode os.FileMode) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
		chmod(t, p, mode)
		return p
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	if err := os.Chown(p, uid, -1); err != nil {
		t.Fatal(err)
	}
}
