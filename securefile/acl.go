package securefile

import (
	"fmt"
	"strings"
)

// This file holds the Windows owner and DACL policy as plain data and
// functions, so that it is tested on every platform; securefile_windows.go
// only reads a file's security descriptor into an aclFacts.

// Well-known SIDs the policy trusts besides the running user.
const (
	sidSystem         = "S-1-5-18"     // NT AUTHORITY\SYSTEM
	sidAdministrators = "S-1-5-32-544" // BUILTIN\Administrators
	sidCreatorOwner   = "S-1-3-0"      // CREATOR OWNER: a placeholder for the owner of what inherits the ACE
	sidOwnerRights    = "S-1-3-4"      // OWNER RIGHTS: the object's owner
)

// Access mask bits (winnt.h) that let an account change a file or
// directory, or what it holds.
const (
	accessWriteData    = 0x00000002 // FILE_WRITE_DATA, FILE_ADD_FILE on a directory
	accessAppendData   = 0x00000004 // FILE_APPEND_DATA, FILE_ADD_SUBDIRECTORY
	accessWriteEA      = 0x00000010 // FILE_WRITE_EA
	accessDeleteChild  = 0x00000040 // FILE_DELETE_CHILD: remove or rename any entry of a directory
	accessWriteAttrs   = 0x00000100 // FILE_WRITE_ATTRIBUTES
	accessDelete       = 0x00010000 // DELETE (also allows renaming)
	accessWriteDAC     = 0x00040000 // WRITE_DAC: change the DACL, so any access
	accessWriteOwner   = 0x00080000 // WRITE_OWNER: take ownership, so any access
	accessGenericAll   = 0x10000000 // GENERIC_ALL
	accessGenericWrite = 0x40000000 // GENERIC_WRITE
	accessAnyControl   = accessWriteDAC | accessWriteOwner | accessGenericAll
	accessWriteFile    = accessWriteData | accessAppendData | accessWriteEA | accessWriteAttrs | accessDelete | accessAnyControl | accessGenericWrite
	accessWriteDir     = accessWriteFile | accessDeleteChild
	accessReplaceInDir = accessDeleteChild | accessDelete | accessAnyControl
	accessAll          = 0xFFFFFFFF
)

// aceKind is what an access-control entry does.
type aceKind int

const (
	aceAllow   aceKind = iota + 1 // ACCESS_ALLOWED_ACE, ACCESS_ALLOWED_CALLBACK_ACE
	aceDeny                       // ACCESS_DENIED_ACE, ACCESS_DENIED_CALLBACK_ACE
	aceUnknown                    // any other type: treated as granting everything to an unknown account
)

// ace is one entry of a DACL reduced to what the policy needs.
type ace struct {
	Kind        aceKind
	SID         string // string form (S-1-...)
	Mask        uint32 // ACCESS_MASK
	InheritOnly bool   // INHERIT_ONLY_ACE: applies to children, not to this object
}

// aclFacts is a file's or directory's owner and DACL, and the running user.
type aclFacts struct {
	Self     string // SID of the running user
	Owner    string // SID of the owner
	NullDACL bool   // no DACL at all: everyone has full access
	Entries  []ace
}

// aclCheck says what the ACL policy checks.
type aclCheck int

const (
	checkFile      aclCheck = iota + 1 // a file Open or OpenFile trusts
	checkDir                           // a directory CheckDir trusts
	checkParentDir                     // the directory holding a file Open trusts
)

// trustedOwner reports whether sid may own a trusted file: the running user,
// SYSTEM or Administrators (files an administrator creates are often owned
// by the Administrators group).
func trustedOwner(sid, self string) bool {
	return sid == self || sid == sidSystem || sid == sidAdministrators
}

// trustedAccount reports whether an ACE for sid may grant access: the
// running user, SYSTEM, Administrators, and the placeholders standing for
// the (trusted) owner.
func trustedAccount(sid, self string) bool {
	return trustedOwner(sid, self) || sid == sidCreatorOwner || sid == sidOwnerRights
}

// evalACL applies the policy to f and returns the problem (0: accepted),
// the account it concerns (the owner, or the first other account with the
// refused access) and that account's access mask.
//
// The rules mirror the Unix ones: the owner is the running user, SYSTEM or
// Administrators; a Secret file gives no access to anyone else; any other
// file or directory lets nobody else write; the directory holding a file
// lets nobody else remove or rename its entries (the equivalent of a
// non-sticky world-writable directory). Deny entries are ignored: they can
// only take access away, so ignoring them may refuse an acceptable file but
// never accepts a bad one. Inherit-only entries do not apply to the object.
func evalACL(f aclFacts, p Policy, what aclCheck) (Problem, string, uint32) {
	if !trustedOwner(f.Owner, f.Self) {
		if what == checkParentDir {
			return DirBadOwner, f.Owner, 0
		}
		return BadOwner, f.Owner, 0
	}
	var refused uint32
	problem := WorldWritable
	switch {
	case what == checkParentDir:
		refused, problem = accessReplaceInDir, DirWorldWritable
	case what == checkDir:
		refused = accessWriteDir
	case p.Secret:
		refused, problem = accessAll, SecretAccessible
	default:
		refused = accessWriteFile
	}
	if f.NullDACL {
		return problem, sidNullDACL, accessAll
	}
	for _, e := range f.Entries {
		switch {
		case e.Kind == aceDeny || e.InheritOnly:
			continue
		case e.Kind == aceUnknown:
			return problem, sidNullDACL, accessAll
		case trustedAccount(e.SID, f.Self):
			continue
		case e.Mask&refused != 0:
			return problem, e.SID, e.Mask
		}
	}
	return 0, "", 0
}

// aclError is Error's text for a refusal made from a Windows ACL: the
// account and its access mask instead of a uid and mode bits.
func (e *Error) aclError() string {
	switch e.Problem {
	case BadOwner:
		return fmt.Sprintf("%s is %s (owner %s)", e.Path, e.Problem, e.SID)
	case DirBadOwner:
		return fmt.Sprintf("%s is %s (%s: owner %s)", e.Path, e.Problem, e.Dir, e.SID)
	case DirWorldWritable:
		return fmt.Sprintf("%s is %s (%s: %s has access 0x%08x)", e.Path, e.Problem, e.Dir, e.sidName(), e.Access)
	}
	return fmt.Sprintf("%s is %s (%s has access 0x%08x)", e.Path, e.Problem, e.sidName(), e.Access)
}

func (e *Error) sidName() string {
	if e.SID == sidNullDACL {
		return "everyone (no DACL or an unsupported entry)"
	}
	return e.SID
}

// sidNullDACL is Error.SID for a refusal caused by a missing DACL or an ACE
// the policy cannot read.
const sidNullDACL = "*"

// icaclsRemedy returns the icacls command line that fixes e for the running
// user self (a SID), or "" when there is none. The path is quoted for cmd.exe
// and PowerShell alike (Windows paths cannot hold a double quote).
func icaclsRemedy(e *Error, self string) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, ``) + `"` }
	grants := fmt.Sprintf("/grant:r *%s:F *%s:F *%s:F", self, sidSystem, sidAdministrators)
	remove := ""
	if e.SID != "" && e.SID != sidNullDACL {
		remove = " /remove:g *" + e.SID
	}
	switch e.Problem {
	case BadOwner:
		return fmt.Sprintf("icacls %s /setowner *%s", q(e.Path), self)
	case DirBadOwner:
		return fmt.Sprintf("icacls %s /setowner *%s", q(e.Dir), self)
	case SecretAccessible:
		// Only the user, SYSTEM and Administrators: drop inherited entries,
		// remove the account found, grant the three explicitly.
		return fmt.Sprintf("icacls %s /inheritance:r%s %s", q(e.Path), remove, grants)
	case WorldWritable:
		if e.Secret || remove == "" {
			return fmt.Sprintf("icacls %s /inheritance:r%s %s", q(e.Path), remove, grants)
		}
		// Keep what others may read (inherited entries become explicit),
		// remove the writer.
		return fmt.Sprintf("icacls %s /inheritance:d%s", q(e.Path), remove)
	case DirWorldWritable:
		if remove == "" {
			return fmt.Sprintf("icacls %s /inheritance:r %s", q(e.Dir), grants)
		}
		return fmt.Sprintf("icacls %s /inheritance:d%s", q(e.Dir), remove)
	}
	return ""
}
