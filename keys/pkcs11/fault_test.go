//go:build cgo

package pkcs11

import (
	"context"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pkcs11test"
	"github.com/mynacard/freespace/keys"
)

// faultModule wraps the real SoftHSM2 module and injects the failures of
// a token that goes away: while removed, slots list no token and every
// session call fails with CKR_DEVICE_REMOVED; one-shot faults fail the
// next call of an operation; loginRV makes C_Login answer a code; dropped
// mechanisms vanish from the mechanism list.
type faultModule struct {
	module
	mu       sync.Mutex
	removed  bool
	once     map[string]uint
	loginRV  uint
	logins   int
	finds    int
	dropMech map[uint]bool
	ttl      time.Duration
	flags    uint // added to CK_TOKEN_INFO.flags
	allowFT  bool
}

func (f *faultModule) GetTokenInfo(slot uint) (p11.TokenInfo, error) {
	ti, err := f.module.GetTokenInfo(slot)
	f.mu.Lock()
	ti.Flags |= f.flags
	f.mu.Unlock()
	return ti, err
}

func (f *faultModule) fault(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removed {
		return p11.Error(p11.CKR_DEVICE_REMOVED)
	}
	if rv, ok := f.once[op]; ok {
		delete(f.once, op)
		return p11.Error(rv)
	}
	return nil
}

func (f *faultModule) set(fn func(f *faultModule)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *faultModule) GetSlotList(present bool) ([]uint, error) {
	f.mu.Lock()
	removed := f.removed
	f.mu.Unlock()
	if removed {
		return nil, nil
	}
	return f.module.GetSlotList(present)
}

func (f *faultModule) GetMechanismList(slot uint) ([]*p11.Mechanism, error) {
	ms, err := f.module.GetMechanismList(slot)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*p11.Mechanism
	for _, m := range ms {
		if !f.dropMech[m.Mechanism] {
			out = append(out, m)
		}
	}
	return out, err
}

func (f *faultModule) OpenSession(slot, flags uint) (p11.SessionHandle, error) {
	if err := f.fault("OpenSession"); err != nil {
		return 0, err
	}
	return f.module.OpenSession(slot, flags)
}

func (f *faultModule) Login(sh p11.SessionHandle, ut uint, pin string) error {
	f.mu.Lock()
	f.logins++
	rv := f.loginRV
	f.mu.Unlock()
	if err := f.fault("Login"); err != nil {
		return err
	}
	if rv != 0 {
		return p11.Error(rv)
	}
	return f.module.Login(sh, ut, pin)
}

func (f *faultModule) FindObjectsInit(sh p11.SessionHandle, t []*p11.Attribute) error {
	f.mu.Lock()
	f.finds++
	f.mu.Unlock()
	if err := f.fault("FindObjectsInit"); err != nil {
		return err
	}
	return f.module.FindObjectsInit(sh, t)
}

func (f *faultModule) SignInit(sh p11.SessionHandle, m []*p11.Mechanism, o p11.ObjectHandle) error {
	if err := f.fault("SignInit"); err != nil {
		return err
	}
	return f.module.SignInit(sh, m, o)
}

func (f *faultModule) Sign(sh p11.SessionHandle, msg []byte) ([]byte, error) {
	if err := f.fault("Sign"); err != nil {
		return nil, err
	}
	return f.module.Sign(sh, msg)
}

// openFaulty opens the token through a faultModule prepared by prep
// (before the first call).
func openFaulty(t *testing.T, prep func(f *faultModule)) (*Provider, *faultModule, error) {
	t.Helper()
	tok := pkcs11test.Get(t)
	f := &faultModule{once: map[string]uint{}, dropMech: map[uint]bool{}}
	if prep != nil {
		prep(f)
	}
	cfg := Config{ModulePath: tok.Module, Token: tok.Label, PIN: []byte(tok.PIN), Sessions: 2, IndexTTL: f.ttl, AllowFinalTry: f.allowFT,
		load: func(path string) (module, error) {
			m, err := loadModule(path)
			f.module = m
			return f, err
		}}
	p, err := Open(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { p.Close() })
	}
	return p, f, err
}

// TestTokenGoneAndBack: while the token is away, taps fail with
// ErrTokenAbsent (never a wrong key); once it is back, the next tap logs
// in again and gets the right key; a one-off lost session is retried
// transparently.
func TestTokenGoneAndBack(t *testing.T) {
	ctx := context.Background()
	// IndexTTL < 0: every version-0 lookup searches the token, so the
	// faults injected into the search are hit.
	p, f, err := openFaulty(t, func(f *faultModule) { f.ttl = -1 })
	require.NoError(t, err)
	ref := keys.KeyRef{Name: uniq(t, "gone"), Version: 1}
	m, _ := keys.NewKey(keys.AES, h("404142434445464748494A4B4C4D4E4F"))
	require.NoError(t, p.Import(ctx, ref, m))
	want := h("AFE562BFC47C5CA061BBC893CC7FC301")

	k, err := p.Diversify(ctx, ref, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, want, k.Bytes())

	tests := []struct {
		name string
		op   string
		rv   uint
	}{
		{"session handle invalid at sign", "Sign", p11.CKR_SESSION_HANDLE_INVALID},
		{"device removed at sign init", "SignInit", p11.CKR_DEVICE_REMOVED},
		{"user not logged in at find", "FindObjectsInit", p11.CKR_USER_NOT_LOGGED_IN},
		{"session closed at find", "FindObjectsInit", p11.CKR_SESSION_CLOSED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.set(func(f *faultModule) { f.once[tt.op] = tt.rv })
			before := f.logins
			k, err := p.Diversify(ctx, keys.KeyRef{Name: ref.Name}, h(testCUID), h(testAID))
			require.NoError(t, err)
			assert.Equal(t, want, k.Bytes())
			assert.Equal(t, before+1, f.logins, "logged in again after the fault")
		})
	}

	f.set(func(f *faultModule) { f.removed = true })
	for i := 0; i < 3; i++ {
		_, err = p.Diversify(ctx, ref, h(testCUID), h(testAID))
		assert.ErrorIs(t, err, ErrTokenAbsent)
	}
	f.set(func(f *faultModule) { f.removed = false })
	k, err = p.Diversify(ctx, ref, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, want, k.Bytes())

	// A fault that is not token loss is reported, not retried.
	f.set(func(f *faultModule) { f.once["Sign"] = p11.CKR_FUNCTION_FAILED })
	_, err = p.Diversify(ctx, ref, h(testCUID), h(testAID))
	assert.ErrorIs(t, err, ErrToken)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, uint(p11.CKR_FUNCTION_FAILED), e.RV)
}

// TestPINRefusedAfterRecoveryIsNotRetried: when the token comes back and
// refuses the PIN (changed, locked), the provider stops trying: one
// C_Login, then the same typed error for every tap.
func TestPINRefusedAfterRecoveryIsNotRetried(t *testing.T) {
	for _, tt := range []struct {
		rv   uint
		want error
	}{{p11.CKR_PIN_INCORRECT, ErrPINIncorrect}, {p11.CKR_PIN_LOCKED, ErrPINLocked}} {
		t.Run(rvName(tt.rv), func(t *testing.T) {
			ctx := context.Background()
			p, f, err := openFaulty(t, nil)
			require.NoError(t, err)
			f.set(func(f *faultModule) { f.once["FindObjectsInit"] = p11.CKR_DEVICE_REMOVED; f.loginRV = tt.rv })
			before := f.logins
			for i := 0; i < 5; i++ {
				_, err = p.Diversify(ctx, keys.KeyRef{Name: "x", Version: 1}, h(testCUID), h(testAID))
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Equal(t, before+1, f.logins, "the PIN is tried once, not once per tap")
		})
	}
	t.Run("final try at open", func(t *testing.T) {
		_, f, err := openFaulty(t, func(f *faultModule) { f.flags = p11.CKF_USER_PIN_FINAL_TRY })
		assert.ErrorIs(t, err, ErrPINFinalTry)
		assert.Equal(t, 0, f.logins, "no try spent")
		_, f, err = openFaulty(t, func(f *faultModule) { f.flags = p11.CKF_USER_PIN_FINAL_TRY; f.allowFT = true })
		assert.NoError(t, err)
		assert.Equal(t, 1, f.logins)
	})
	t.Run("locked flag at open", func(t *testing.T) {
		_, f, err := openFaulty(t, func(f *faultModule) { f.flags = p11.CKF_USER_PIN_LOCKED })
		assert.ErrorIs(t, err, ErrPINLocked)
		assert.Equal(t, 0, f.logins)
	})
	t.Run("locked at open", func(t *testing.T) {
		_, f, err := openFaulty(t, func(f *faultModule) { f.loginRV = p11.CKR_PIN_LOCKED })
		assert.ErrorIs(t, err, ErrPINLocked)
		assert.Equal(t, 1, f.logins)
	})
}

// TestMechanismChecks: a token without CKM_AES_CMAC is refused at Open;
// one without CKM_DES3_CMAC serves AES masters and refuses 3DES ones
// with ErrMechanism; CKM_EDDSA is needed for the signer.
func TestMechanismChecks(t *testing.T) {
	ctx := context.Background()
	_, _, err := openFaulty(t, func(f *faultModule) { f.dropMech[p11.CKM_AES_CMAC] = true })
	assert.ErrorIs(t, err, ErrMechanism)
	assert.ErrorContains(t, err, "CKM_AES_CMAC")

	p, _, err := openFaulty(t, func(f *faultModule) { f.dropMech[p11.CKM_DES3_CMAC] = true; f.dropMech[ckmEdDSA] = true })
	require.NoError(t, err)
	tdes := keys.KeyRef{Name: uniq(t, "tdes"), Version: 1}
	m, _ := keys.NewKey(keys.TDES, h("404142434445464748494A4B4C4D4E4F"))
	require.NoError(t, p.Import(ctx, tdes, m))
	_, err = p.Diversify(ctx, tdes, h(testCUID), h(testAID))
	assert.ErrorIs(t, err, ErrMechanism)
	assert.ErrorContains(t, err, "CKM_DES3_CMAC")
	aes := keys.KeyRef{Name: uniq(t, "aes"), Version: 1}
	require.NoError(t, p.Generate(ctx, aes, keys.AES, 16))
	_, err = p.Diversify(ctx, aes, h(testCUID), h(testAID))
	assert.NoError(t, err)
	_, err = p.Signer(ctx, "feed", 0)
	assert.ErrorIs(t, err, ErrMechanism)
}

// TestVersionIndex: the versions of the masters come from one token
// search reused for IndexTTL (hosts ask on every tap); this provider's own
// Generate shows at once, another process's after IndexTTL; Version 0
// follows the index.
func TestVersionIndex(t *testing.T) {
	ctx := context.Background()
	p, f, err := openFaulty(t, func(f *faultModule) { f.ttl = time.Second })
	require.NoError(t, err)
	other, _ := openToken(t, Config{})
	name := uniq(t, "idx")
	require.NoError(t, p.Generate(ctx, keys.KeyRef{Name: name, Version: 1}, keys.AES, 16))
	vs, err := p.KeyVersions(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, vs)
	_, err = p.Diversify(ctx, keys.KeyRef{Name: name}, h(testCUID), h(testAID))
	require.NoError(t, err)
	f.set(func(f *faultModule) { f.finds = 0 })
	for i := 0; i < 10; i++ {
		vs, err = p.KeyVersions(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, []int{1}, vs)
		_, err = p.Diversify(ctx, keys.KeyRef{Name: name}, h(testCUID), h(testAID))
		require.NoError(t, err)
	}
	assert.Equal(t, 0, f.finds, "served from the index and the handle cache")

	p.invalidateIndex()
	vs, _ = p.KeyVersions(ctx, name) // index read now
	assert.Equal(t, []int{1}, vs)
	require.NoError(t, other.Generate(ctx, keys.KeyRef{Name: name, Version: 2}, keys.AES, 16))
	vs, _ = p.KeyVersions(ctx, name)
	assert.Equal(t, []int{1}, vs, "another provider's (another process's) key shows after IndexTTL")
	time.Sleep(1100 * time.Millisecond)
	vs, _ = p.KeyVersions(ctx, name)
	assert.Equal(t, []int{1, 2}, vs)
	require.NoError(t, p.Generate(ctx, keys.KeyRef{Name: name, Version: 3}, keys.AES, 16))
	vs, _ = p.KeyVersions(ctx, name)
	assert.Equal(t, []int{1, 2, 3}, vs, "this provider's own key shows at once")
	latest, err := p.Diversify(ctx, keys.KeyRef{Name: name}, h(testCUID), h(testAID))
	require.NoError(t, err)
	v3, err := p.Diversify(ctx, keys.KeyRef{Name: name, Version: 3}, h(testCUID), h(testAID))
	require.NoError(t, err)
	assert.Equal(t, v3.Bytes(), latest.Bytes())
	vs, err = p.KeyVersions(ctx, uniq(t, "none"))
	require.NoError(t, err)
	assert.Empty(t, vs)
}
