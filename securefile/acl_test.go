package securefile

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The Windows owner and DACL policy, evaluated on any platform.
func TestEvalACL(t *testing.T) {
	const (
		self  = "S-1-5-21-1-2-3-1001"
		other = "S-1-5-21-1-2-3-1002"
		users = "S-1-5-32-545"
		auth  = "S-1-5-11" // Authenticated Users
		read  = 0x120089   // FILE_GENERIC_READ
		write = 0x2        // FILE_WRITE_DATA
		full  = 0x1F01FF   // FILE_ALL_ACCESS
	)
	allow := func(sid string, mask uint32) ace { return ace{Kind: aceAllow, SID: sid, Mask: mask} }
	own := []ace{allow(self, full), allow(sidSystem, full), allow(sidAdministrators, full)}
	with := func(extra ...ace) []ace { return append(append([]ace{}, own...), extra...) }
	secret, plain := Policy{Secret: true}, Policy{}
	tests := []struct {
		name    string
		facts   aclFacts
		policy  Policy
		what    aclCheck
		want    Problem
		wantSID string
	}{
		{"secret: owner, SYSTEM, Administrators only", aclFacts{Owner: self, Entries: own}, secret, checkFile, 0, ""},
		{"secret owned by Administrators", aclFacts{Owner: sidAdministrators, Entries: own}, secret, checkFile, 0, ""},
		{"secret owned by SYSTEM", aclFacts{Owner: sidSystem, Entries: own}, secret, checkFile, 0, ""},
		{"secret owned by another user", aclFacts{Owner: other, Entries: own}, secret, checkFile, BadOwner, other},
		{"secret readable by Users", aclFacts{Owner: self, Entries: with(allow(users, read))}, secret, checkFile, SecretAccessible, users},
		{"secret with another user's entry denied only", aclFacts{Owner: self, Entries: with(ace{Kind: aceDeny, SID: other, Mask: full})}, secret, checkFile, 0, ""},
		{"secret: deny does not excuse an allow", aclFacts{Owner: self, Entries: append([]ace{{Kind: aceDeny, SID: users, Mask: full}}, with(allow(users, read))...)}, secret, checkFile, SecretAccessible, users},
		{"secret: inherit-only entry for Users", aclFacts{Owner: self, Entries: with(ace{Kind: aceAllow, SID: users, Mask: full, InheritOnly: true})}, secret, checkFile, 0, ""},
		{"secret: CREATOR OWNER and OWNER RIGHTS", aclFacts{Owner: self, Entries: with(allow(sidCreatorOwner, full), allow(sidOwnerRights, full))}, secret, checkFile, 0, ""},
		{"secret: no DACL", aclFacts{Owner: self, NullDACL: true}, secret, checkFile, SecretAccessible, sidNullDACL},
		{"secret: unsupported entry type", aclFacts{Owner: self, Entries: with(ace{Kind: aceUnknown})}, secret, checkFile, SecretAccessible, sidNullDACL},
		{"secret: an entry granting nothing", aclFacts{Owner: self, Entries: with(allow(users, 0))}, secret, checkFile, 0, ""},
		{"plain readable by Users", aclFacts{Owner: self, Entries: with(allow(users, read))}, plain, checkFile, 0, ""},
		{"plain writable by Authenticated Users", aclFacts{Owner: self, Entries: with(allow(auth, read|write))}, plain, checkFile, WorldWritable, auth},
		{"plain: another user may change the DACL", aclFacts{Owner: self, Entries: with(allow(other, 0x40000))}, plain, checkFile, WorldWritable, other},
		{"plain: another user may delete", aclFacts{Owner: self, Entries: with(allow(other, 0x10000))}, plain, checkFile, WorldWritable, other},
		{"plain: GENERIC_WRITE for Users", aclFacts{Owner: self, Entries: with(allow(users, 0x40000000))}, plain, checkFile, WorldWritable, users},
		{"plain: no DACL", aclFacts{Owner: self, NullDACL: true}, plain, checkFile, WorldWritable, sidNullDACL},
		{"plain owned by another user", aclFacts{Owner: other, Entries: own}, plain, checkFile, BadOwner, other},
		{"dir: Users may add files", aclFacts{Owner: self, Entries: with(allow(users, 0x2|0x4))}, plain, checkDir, WorldWritable, users},
		{"dir: Users may read and list", aclFacts{Owner: self, Entries: with(allow(users, read))}, secret, checkDir, 0, ""},
		{"parent: Users may add files, not delete (like ProgramData)", aclFacts{Owner: sidSystem, Entries: with(allow(users, read|0x2|0x4))}, secret, checkParentDir, 0, ""},
		{"parent: Users may delete children", aclFacts{Owner: self, Entries: with(allow(users, read|0x40))}, plain, checkParentDir, DirWorldWritable, users},
		{"parent: Everyone full control", aclFacts{Owner: self, Entries: with(allow("S-1-1-0", full))}, plain, checkParentDir, DirWorldWritable, "S-1-1-0"},
		{"parent owned by another user", aclFacts{Owner: other, Entries: own}, plain, checkParentDir, DirBadOwner, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.facts.Self = self
			got, sid, _ := evalACL(tt.facts, tt.policy, tt.what)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantSID, sid)
		})
	}
}

// Refusals from a Windows ACL carry the account and access mask as facts
// and an icacls remedy.
func TestACLErrorAndRemedy(t *testing.T) {
	const self = "S-1-5-21-1-2-3-1001"
	tests := []struct {
		name       string
		err        *Error
		wantText   string
		wantRemedy string
	}{
		{"secret readable by Users",
			&Error{Path: `C:\ProgramData\gate\keys.json`, Problem: SecretAccessible, Owner: -1, Secret: true, SID: "S-1-5-32-545", Access: 0x120089},
			`C:\ProgramData\gate\keys.json is accessible by group or others (S-1-5-32-545 has access 0x00120089)`,
			`icacls "C:\ProgramData\gate\keys.json" /inheritance:r /remove:g *S-1-5-32-545 /grant:r *S-1-5-21-1-2-3-1001:F *S-1-5-18:F *S-1-5-32-544:F`},
		{"secret without a DACL",
			&Error{Path: `C:\k`, Problem: SecretAccessible, Owner: -1, Secret: true, SID: "*", Access: 0xFFFFFFFF},
			`C:\k is accessible by group or others (everyone (no DACL or an unsupported entry) has access 0xffffffff)`,
			`icacls "C:\k" /inheritance:r /grant:r *S-1-5-21-1-2-3-1001:F *S-1-5-18:F *S-1-5-32-544:F`},
		{"plain writable by Users",
			&Error{Path: `C:\gate\map.csv`, Problem: WorldWritable, Owner: -1, SID: "S-1-5-32-545", Access: 0x2},
			`C:\gate\map.csv is writable by others (S-1-5-32-545 has access 0x00000002)`,
			`icacls "C:\gate\map.csv" /inheritance:d /remove:g *S-1-5-32-545`},
		{"owned by another user",
			&Error{Path: `C:\gate\map.csv`, Problem: BadOwner, Owner: -1, SID: "S-1-5-21-9"},
			`C:\gate\map.csv is owned by another user (owner S-1-5-21-9)`,
			`icacls "C:\gate\map.csv" /setowner *S-1-5-21-1-2-3-1001`},
		{"directory lets Users delete",
			&Error{Path: `C:\gate\map.csv`, Dir: `C:\gate`, Problem: DirWorldWritable, Owner: -1, SID: "S-1-5-32-545", Access: 0x40},
			`C:\gate\map.csv is in a directory writable by others (C:\gate: S-1-5-32-545 has access 0x00000040)`,
			`icacls "C:\gate" /inheritance:d /remove:g *S-1-5-32-545`},
		{"directory owned by another user",
			&Error{Path: `C:\gate\map.csv`, Dir: `C:\gate`, Problem: DirBadOwner, Owner: -1, SID: "S-1-5-21-9"},
			`C:\gate\map.csv is in a directory owned by another user (C:\gate: owner S-1-5-21-9)`,
			`icacls "C:\gate" /setowner *S-1-5-21-1-2-3-1001`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantText, tt.err.Error())
			assert.ErrorIs(t, tt.err, ErrInsecure)
			got := icaclsRemedy(tt.err, self)
			assert.Equal(t, tt.wantRemedy, got)
			assert.False(t, strings.Contains(tt.err.Error(), "icacls"), "error text carries no remedy")
		})
	}
}
