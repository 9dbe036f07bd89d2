//go:build windows

package securefile

import (
	"errors"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows the mode bits Go reports (0666, or 0444 for a read-only file)
// say nothing about who may access a file: the owner and the DACL do. The
// policy itself is evalACL (acl.go); this file reads a security descriptor
// into its input.
//
// The file checks read the descriptor by path after the file is open: Go
// opens files without FILE_SHARE_DELETE, so while the handle is open the
// file can be neither renamed nor deleted, and the path still names it.

// selfSID returns the SID of the user running the process.
func selfSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String(), nil
}

// readACL reads path's owner and DACL.
func readACL(path string) (aclFacts, error) {
	self, err := selfSID()
	if err != nil {
		return aclFacts{}, err
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return aclFacts{}, &fs.PathError{Op: "GetNamedSecurityInfo", Path: path, Err: err}
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return aclFacts{}, &fs.PathError{Op: "GetSecurityDescriptorOwner", Path: path, Err: err}
	}
	f := aclFacts{Self: self}
	if owner != nil {
		f.Owner = owner.String()
	}
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || err == nil && dacl == nil:
		// No DACL (or a NULL one) grants everyone full access.
		f.NullDACL = true
		return f, nil
	case err != nil:
		return aclFacts{}, &fs.PathError{Op: "GetSecurityDescriptorDacl", Path: path, Err: err}
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var a *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &a); err != nil {
			return aclFacts{}, &fs.PathError{Op: "GetAce", Path: path, Err: err}
		}
		e := ace{Mask: uint32(a.Mask), InheritOnly: a.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0}
		switch a.Header.AceType {
		case windows.ACCESS_ALLOWED_ACE_TYPE, 0x9: // ACCESS_ALLOWED_CALLBACK_ACE_TYPE: same layout up to the SID
			e.Kind = aceAllow
		case windows.ACCESS_DENIED_ACE_TYPE, 0xA: // ACCESS_DENIED_CALLBACK_ACE_TYPE
			e.Kind = aceDeny
		default:
			e.Kind = aceUnknown
		}
		if e.Kind != aceUnknown {
			e.SID = (*windows.SID)(unsafe.Pointer(&a.SidStart)).String()
		}
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

func checkACL(path, dir string, p Policy, what aclCheck) error {
	checked := path
	if what == checkParentDir {
		checked = dir
	}
	f, err := readACL(checked)
	if err != nil {
		return err
	}
	problem, sid, mask := evalACL(f, p, what)
	if problem == 0 {
		return nil
	}
	e := &Error{Path: path, Problem: problem, Owner: -1, Secret: p.Secret, SID: sid, Access: mask}
	if what == checkParentDir {
		e.Dir = dir
	}
	if fi, err := os.Lstat(checked); err == nil {
		e.Mode = fi.Mode()
	}
	return e
}

func checkOwnerMode(path string, fi fs.FileInfo, p Policy, isDir bool) error {
	if isDir {
		return checkACL(path, "", p, checkDir)
	}
	return checkACL(path, "", p, checkFile)
}

func checkDirOf(path, dir string, fi fs.FileInfo, p Policy) error {
	return checkACL(path, dir, p, checkParentDir)
}

func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &Error{Path: path, Problem: Symlink, Owner: -1, Mode: fi.Mode()}
	}
	return os.OpenFile(path, flag, perm)
}

// secretSDDL is the DACL CreateSecret gives a new file: protected (nothing
// inherited from the directory), full access for the creator (OW: owner
// rights), SYSTEM and Administrators, nobody else.
const secretSDDL = "D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)"

// createExcl creates path exclusively (CREATE_NEW never opens an existing
// file or follows a symbolic link) with secretSDDL; perm is the Unix mode
// and has no meaning here.
func createExcl(path string, perm fs.FileMode) (*os.File, error) {
	sd, err := windows.SecurityDescriptorFromString(secretSDDL)
	if err != nil {
		return nil, err
	}
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	h, err := windows.CreateFile(name, windows.GENERIC_WRITE, windows.FILE_SHARE_READ, sa,
		windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

func isSymlinkErr(path string, err error) bool {
	fi, lerr := os.Lstat(path)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0
}

func clearNonblock(f *os.File) error { return nil }

func remedy(e *Error) string {
	self, err := selfSID()
	if err != nil {
		return ""
	}
	return icaclsRemedy(e, self)
}
