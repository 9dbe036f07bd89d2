package mockcard

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/mynacard/freespace/apdu"
)

// apExtension is an AP's part beyond the engine's ISO/IEC 7816-4 command
// set (the JPKI AP's): the engine offers it every command for the AP while
// the AP is selected, before running its own.
type apExtension interface {
	// command runs cmd and reports true, or reports false to leave cmd
	// to the engine.
	command(c *Card, cmd apdu.Command, sm bool) (res, bool)
	// proprietary reports whether the AP defines commands of class cla
	// (the engine answers 6E00 to any other class outside ISO's).
	proprietary(cla byte) bool
	// state returns what a state file keeps of the extension.
	state() *jpkiState
}

// jpkiState is the JPKI AP's part of a state file: its RSA keys (PKCS #1
// DER, base64 in JSON) and its mode.
type jpkiState struct {
	AuthKey    []byte `json:"auth_key"`
	SignKey    []byte `json:"sign_key"`
	Smartphone bool   `json:"smartphone,omitempty"`
}

// JPKI command bytes: PIN EF addressing in VERIFY / CHANGE REFERENCE DATA
// (P2 = 80: the PIN of the selected EF) and the signature command
// 80 2A 00 80 (OpenSC card-jpki.c jpki_pin_cmd, jpki_compute_signature;
// myna src/reader.rs verify_pin, signature).
const (
	jpkiCLA          = 0x80
	jpkiInsSign      = 0x2A
	jpkiP2CurrentEF  = 0x80
	jpkiSignP1       = 0x00
	jpkiSignP2       = 0x80
	rsa2048Len       = 256
	pkcs1v15Overhead = 11
)

func (j *jpkiAP) proprietary(cla byte) bool { return cla == jpkiCLA }

func (j *jpkiAP) state() *jpkiState {
	return &jpkiState{AuthKey: x509.MarshalPKCS1PrivateKey(j.authKey), SignKey: x509.MarshalPKCS1PrivateKey(j.signKey), Smartphone: j.smartphone}
}

// jpkiFromState rebuilds the extension of a saved JPKI AP.
func jpkiFromState(st *jpkiState) (*jpkiAP, error) {
	ak, err := x509.ParsePKCS1PrivateKey(st.AuthKey)
	if err != nil {
		return nil, fmt.Errorf("%w: JPKI auth key: %w", ErrStateFile, err)
	}
	sk, err := x509.ParsePKCS1PrivateKey(st.SignKey)
	if err != nil {
		return nil, fmt.Errorf("%w: JPKI signing key: %w", ErrStateFile, err)
	}
	return &jpkiAP{authKey: ak, signKey: sk, smartphone: st.Smartphone}, nil
}

// command handles what differs from the engine: VERIFY and CHANGE
// REFERENCE DATA name the PIN by the selected PIN EF (P2 = 80), and the
// signature command of class 80.
func (j *jpkiAP) command(c *Card, cmd apdu.Command, sm bool) (res, bool) {
	if cmd.CLA == jpkiCLA {
		if cmd.INS != jpkiInsSign {
			return swOnly(apdu.ErrINSNotSupported), true
		}
		return j.sign(c, cmd), true
	}
	switch cmd.INS {
	case apdu.InsVerify, apdu.InsChangeReferenceData:
	default:
		return res{}, false
	}
	if cmd.P2 != jpkiP2CurrentEF {
		return swOnly(apdu.ErrIncorrectP1P2), true
	}
	if c.curEF == nil {
		return swOnly(apdu.ErrCommandNotAllowedNoEF), true
	}
	fid := c.curEF.spec.FID
	if fid != JPKIFIDAuthPIN && fid != JPKIFIDSignPIN {
		return swOnly(apdu.ErrReferencedDataNotFound), true
	}
	// The PIN's character set (digits; upper-case letters and digits) is
	// checked like its length: 6A80, no try spent.
	format := jpkiAuthPINFormat
	if fid == JPKIFIDSignPIN {
		format = jpkiSignPINFormat
	}
	newPIN := cmd.INS == apdu.InsChangeReferenceData && cmd.P1 == 0x01
	verifyPIN := cmd.INS == apdu.InsVerify && cmd.P1 == 0x00
	if (newPIN || verifyPIN) && len(cmd.Data) > 0 && !format(cmd.Data) {
		if newPIN && !c.sec.verified[jpkiPINRef(fid)] {
			return swOnly(apdu.ErrSecurityStatusNotSatisfied), true
		}
		return swOnly(apdu.ErrIncorrectDataField), true
	}
	cmd.P2 = jpkiPINRef(fid)
	if cmd.INS == apdu.InsVerify {
		return c.cmdVerify(cmd, sm), true
	}
	return c.cmdChangeRefData(cmd, sm), true
}

// sign is 80 2A 00 80 Lc data Le: an RSA PKCS #1 v1.5 signature (block
// type 1 padding of data as given, normally a DigestInfo) with the key of
// the selected key EF, allowed while that key's PIN is verified.
func (j *jpkiAP) sign(c *Card, cmd apdu.Command) res {
	if cmd.P1 != jpkiSignP1 || cmd.P2 != jpkiSignP2 {
		return swOnly(apdu.ErrIncorrectP1P2)
	}
	if len(cmd.Data) == 0 || len(cmd.Data) > rsa2048Len-pkcs1v15Overhead || cmd.Ne == 0 {
		return swOnly(apdu.ErrWrongLength)
	}
	if cmd.Ne < rsa2048Len && !neWildcard(cmd.Ne) {
		return swOnly(apdu.StatusWord(0x6C00)) // 00: 256 bytes
	}
	if c.curEF == nil {
		return swOnly(apdu.ErrCommandNotAllowedNoEF)
	}
	var key *rsa.PrivateKey
	var pin byte
	switch c.curEF.spec.FID {
	case JPKIFIDAuthKey:
		key, pin = j.authKey, jpkiPINRef(JPKIFIDAuthPIN)
	case JPKIFIDSignKey:
		key, pin = j.signKey, jpkiPINRef(JPKIFIDSignPIN)
	default:
		return swOnly(apdu.ErrReferencedDataNotFound)
	}
	if !c.sec.verified[pin] {
		return swOnly(apdu.ErrSecurityStatusNotSatisfied)
	}
	// Hash 0: the data is signed as it is (the card pads, the host hashes
	// and builds the DigestInfo), as OpenSC's driver expects
	// (SC_ALGORITHM_RSA_HASH_NONE | SC_ALGORITHM_RSA_PAD_PKCS1).
	sig, err := rsa.SignPKCS1v15(nil, key, 0, cmd.Data)
	if err != nil {
		return swOnly(apdu.ErrIncorrectDataField)
	}
	return res{data: sig, sw: apdu.SWSuccess}
}

// restoreJPKI is an option that gives the AP aid, loaded from a state
// file, its JPKI keys and commands back.
func restoreJPKI(aid []byte, st *jpkiState) Option {
	return func(s *settings) {
		s.post = append(s.post, func(c *Card) error {
			a := c.findApp(aid)
			if a == nil {
				return fmt.Errorf("%w: AP %X vanished", ErrStateFile, aid)
			}
			j, err := jpkiFromState(st)
			if err != nil {
				return err
			}
			a.ext = j
			return nil
		})
	}
}
