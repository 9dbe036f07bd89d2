package securefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// ErrInsecure is matched (errors.Is) by every *Error: a file or directory
// that is not safe to trust.
var ErrInsecure = errors.New("insecure file")

// Problem says what is wrong with a file or its directory.
type Problem int

const (
	// NotRegular: the path is a FIFO, device, socket or directory where a
	// regular file is required (or not a directory where one is required).
	NotRegular Problem = iota + 1
	// Symlink: the path is a symbolic link; it is not followed.
	Symlink
	// BadOwner: owned by a user other than root or the running user.
	BadOwner
	// WorldWritable: writable by others than the owner and the group.
	WorldWritable
	// SecretAccessible: a secret file gives group or others any access.
	SecretAccessible
	// DirBadOwner: the directory holding the file is owned by another user.
	DirBadOwner
	// DirWorldWritable: the directory holding the file is writable by
	// others (and not sticky), so another user can replace the file.
	DirWorldWritable
	// Exists: a file to be created already exists (CreateSecret never
	// reuses or replaces one).
	Exists
)

var problemText = map[Problem]string{
	NotRegular:       "not a regular file",
	Symlink:          "a symbolic link",
	BadOwner:         "owned by another user",
	WorldWritable:    "writable by others",
	SecretAccessible: "accessible by group or others",
	DirBadOwner:      "in a directory owned by another user",
	DirWorldWritable: "in a directory writable by others",
	Exists:           "already exists",
}

// String returns a short description of the problem.
func (p Problem) String() string {
	if s, ok := problemText[p]; ok {
		return s
	}
	return "Problem(" + strconv.Itoa(int(p)) + ")"
}

// Error is a refusal: the file at Path (or, for the Dir problems, its
// directory Dir) is not safe to trust.
type Error struct {
	Path    string      // the file as given
	Dir     string      // the directory checked, for DirBadOwner and DirWorldWritable
	Problem Problem     // what is wrong
	Owner   int         // the owning user ID of what was checked; -1 when unknown
	Mode    fs.FileMode // its mode (type and permission bits)
	Secret  bool        // the file was checked as a secret
	// SID and Access are set by the Windows checks, which read an owner and
	// a DACL rather than a uid and mode bits: SID is the owner (BadOwner,
	// DirBadOwner) or the account with the refused access, "*" for everyone
	// (no DACL, or an entry of a type the check cannot read); Access is that
	// account's access mask.
	SID    string
	Access uint32
}

// Error describes the refusal with its facts, never a remedy.
func (e *Error) Error() string {
	if e.SID != "" {
		return e.aclError()
	}
	s := fmt.Sprintf("%s is %s", e.Path, e.Problem)
	switch e.Problem {
	case DirBadOwner, DirWorldWritable:
		s = fmt.Sprintf("%s is %s (%s: owner uid %d, mode %04o)", e.Path, e.Problem, e.Dir, e.Owner, e.Mode.Perm())
	case BadOwner:
		s += fmt.Sprintf(" (owner uid %d)", e.Owner)
	case WorldWritable, SecretAccessible:
		s += fmt.Sprintf(" (mode %04o)", e.Mode.Perm())
	}
	return s
}

// Is reports ErrInsecure.
func (e *Error) Is(target error) bool { return target == ErrInsecure }

// Remedy returns a shell command that fixes the problem on this platform,
// or "" when there is none to give (a symlink or FIFO must be removed by
// hand; an existing file must be moved away). CLIs print it beside the
// error; error strings never carry it.
func (e *Error) Remedy() string { return remedy(e) }

// Policy says how strictly Open checks a file.
type Policy struct {
	// Secret requires that group and others have no access at all (keys,
	// seeds, decrypted card data). Otherwise group-writable is allowed and
	// world-writable never.
	Secret bool
}

// Open opens path for reading after checking it under p: no final symlink
// followed, no blocking on a FIFO, a regular file, owner and mode, and its
// directory (see the package doc). The checks use the opened file.
func Open(path string, p Policy) (*os.File, error) {
	return openChecked(path, p, os.O_RDONLY, 0)
}

// OpenFile is Open with flags (for example os.O_RDWR|os.O_APPEND|os.O_CREATE
// for an append-only log) and the permission bits for a created file. A
// file that exists is checked as Open does; a created one gets exactly perm.
func OpenFile(path string, p Policy, flag int, perm fs.FileMode) (*os.File, error) {
	return openChecked(path, p, flag, perm)
}

// CheckDir checks that dir is a directory (not a symlink) owned by root or
// the running user and not writable by others; with p.Secret, group and
// others may not write either.
func CheckDir(dir string, p Policy) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &Error{Path: dir, Problem: Symlink, Owner: -1, Mode: fi.Mode()}
	}
	if !fi.IsDir() {
		return &Error{Path: dir, Problem: NotRegular, Owner: -1, Mode: fi.Mode()}
	}
	return checkOwnerMode(dir, fi, p, true)
}

// CreateSecret creates path with mode 0600, exclusively: an existing file
// (or a symlink, even a dangling one) is refused with an *Error whose
// Problem is Exists, and the directory is checked as Open checks it. The
// caller writes, syncs and closes the file.
func CreateSecret(path string) (*os.File, error) {
	if err := checkParent(path, Policy{Secret: true}); err != nil {
		return nil, err
	}
	f, err := createExcl(path, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, &Error{Path: path, Problem: Exists, Owner: -1, Secret: true}
		}
		return nil, err
	}
	return f, nil
}

// WriteSecret creates path with CreateSecret, writes data, syncs the file
// and its directory. On any error the partial file is removed.
func WriteSecret(path string, data []byte) error {
	f, err := CreateSecret(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

func openChecked(path string, p Policy, flag int, perm fs.FileMode) (*os.File, error) {
	if err := checkParent(path, p); err != nil {
		return nil, err
	}
	f, err := openNoFollow(path, flag, perm)
	if err != nil {
		if isSymlinkErr(path, err) {
			return nil, &Error{Path: path, Problem: Symlink, Owner: -1, Secret: p.Secret}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &Error{Path: path, Problem: NotRegular, Owner: -1, Mode: fi.Mode(), Secret: p.Secret}
	}
	if err := checkOwnerMode(path, fi, p, false); err != nil {
		f.Close()
		return nil, err
	}
	if err := clearNonblock(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkParent(path string, p Policy) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	return checkDirOf(path, dir, fi, p)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
