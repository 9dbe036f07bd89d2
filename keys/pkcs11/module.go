//go:build cgo

package pkcs11

import (
	"errors"
	"path/filepath"

	p11 "github.com/miekg/pkcs11"

	"github.com/mynacard/freespace/securefile"
)

// module is the part of a PKCS#11 module the provider calls. The real one
// is a loaded shared library (ctxModule); tests wrap it to inject faults
// (a token that goes away and comes back).
type module interface {
	Initialize() error
	Finalize() error
	GetSlotList(tokenPresent bool) ([]uint, error)
	GetTokenInfo(slotID uint) (p11.TokenInfo, error)
	GetMechanismList(slotID uint) ([]*p11.Mechanism, error)
	OpenSession(slotID uint, flags uint) (p11.SessionHandle, error)
	CloseSession(sh p11.SessionHandle) error
	Login(sh p11.SessionHandle, userType uint, pin string) error
	FindObjectsInit(sh p11.SessionHandle, temp []*p11.Attribute) error
	FindObjects(sh p11.SessionHandle, max int) ([]p11.ObjectHandle, bool, error)
	FindObjectsFinal(sh p11.SessionHandle) error
	GetAttributeValue(sh p11.SessionHandle, o p11.ObjectHandle, a []*p11.Attribute) ([]*p11.Attribute, error)
	SignInit(sh p11.SessionHandle, m []*p11.Mechanism, o p11.ObjectHandle) error
	Sign(sh p11.SessionHandle, message []byte) ([]byte, error)
	CreateObject(sh p11.SessionHandle, temp []*p11.Attribute) (p11.ObjectHandle, error)
	GenerateKey(sh p11.SessionHandle, m []*p11.Mechanism, temp []*p11.Attribute) (p11.ObjectHandle, error)
	GenerateKeyPair(sh p11.SessionHandle, m []*p11.Mechanism, public, private []*p11.Attribute) (p11.ObjectHandle, p11.ObjectHandle, error)
	DestroyObject(sh p11.SessionHandle, o p11.ObjectHandle) error
}

// ctxModule adapts *p11.Ctx to module.
type ctxModule struct{ *p11.Ctx }

func (c ctxModule) Initialize() error { return c.Ctx.Initialize() }

// loadModule loads the shared library at path after checking it as a
// trusted file (the library runs inside this process): the path is made
// absolute and its symlinks resolved, and the file must be a regular file
// owned by root or the running user and not writable by others, in a
// directory likewise.
func loadModule(path string) (module, error) {
	if !filepath.IsAbs(path) {
		return nil, &Error{Op: "open", Kind: ErrModule, Detail: "module path " + path + " is not absolute"}
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, errors.Join(&Error{Op: "open", Kind: ErrModule, Detail: "module " + path}, err)
	}
	f, err := securefile.Open(real, securefile.Policy{})
	if err != nil {
		return nil, errors.Join(&Error{Op: "open", Kind: ErrModule, Detail: "module " + path + " not safe to load"}, err)
	}
	f.Close()
	c := p11.New(real)
	if c == nil {
		return nil, &Error{Op: "open", Kind: ErrModule, Detail: "module " + path + " could not be loaded (dlopen)"}
	}
	return ctxModule{c}, nil
}
