//go:build unix

package securefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// owner returns the owning uid of fi, or -1.
func owner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func ownerOK(uid int) bool { return uid == 0 || uid == os.Geteuid() }

func checkOwnerMode(path string, fi fs.FileInfo, p Policy, isDir bool) error {
	uid := owner(fi)
	perm := fi.Mode().Perm()
	e := &Error{Path: path, Owner: uid, Mode: fi.Mode(), Secret: p.Secret}
	switch {
	case !ownerOK(uid):
		e.Problem = BadOwner
	case p.Secret && !isDir && perm&0o077 != 0:
		e.Problem = SecretAccessible
	case p.Secret && isDir && perm&0o022 != 0:
		e.Problem = WorldWritable
	case perm&0o002 != 0:
		e.Problem = WorldWritable
	default:
		return nil
	}
	return e
}

// checkDirOf checks the directory holding path. A sticky, world-writable
// directory (/tmp) is accepted only for the file check that follows: others
// cannot rename or remove a file they do not own there.
func checkDirOf(path, dir string, fi fs.FileInfo, p Policy) error {
	uid := owner(fi)
	perm := fi.Mode().Perm()
	if !ownerOK(uid) {
		return &Error{Path: path, Dir: dir, Problem: DirBadOwner, Owner: uid, Mode: fi.Mode(), Secret: p.Secret}
	}
	if perm&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return &Error{Path: path, Dir: dir, Problem: DirWorldWritable, Owner: uid, Mode: fi.Mode(), Secret: p.Secret}
	}
	return nil
}

func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
}

func createExcl(path string, perm fs.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, err
	}
	// The umask may have cleared bits but never adds any; force 0600 anyway
	// in case perm was widened by a caller's umask of 0.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

func isSymlinkErr(path string, err error) bool {
	if errors.Is(err, unix.ELOOP) {
		return true
	}
	fi, lerr := os.Lstat(path)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0
}

func clearNonblock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetNonblock(int(fd), false)
	}); err != nil {
		return err
	}
	return serr
}

func remedy(e *Error) string {
	q := shellQuote(e.Path)
	switch e.Problem {
	case BadOwner:
		return fmt.Sprintf("chown %d %s", os.Geteuid(), q)
	case WorldWritable:
		if e.Secret {
			return "chmod go-w " + shellQuote(e.Path)
		}
		return "chmod o-w " + q
	case SecretAccessible:
		return "chmod 600 " + q
	case DirBadOwner:
		return fmt.Sprintf("chown %d %s", os.Geteuid(), shellQuote(e.Dir))
	case DirWorldWritable:
		return "chmod o-w " + shellQuote(e.Dir)
	}
	return ""
}

func shellQuote(s string) string {
	for _, c := range s {
		if !(c == '/' || c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			out := []byte{'\''}
			for i := 0; i < len(s); i++ {
				if s[i] == '\'' {
					out = append(out, `'\''`...)
				} else {
					out = append(out, s[i])
				}
			}
			return string(append(out, '\''))
		}
	}
	return s
}
