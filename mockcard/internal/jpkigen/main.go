// Command jpkigen makes the test PKI of the mock JPKI AP: RSA-2048 keys and
// X.509 certificates shaped like those of the JPKI AP on a My Number Card
// (public facts: OpenSC src/libopensc/pkcs15-jpki.c, jpki/myna). Everything
// it makes is a test fixture: the keys are public, nothing here is trusted
// by anything but tests.
//
// Go 1.26's rsa.GenerateKey ignores the random source it is given, so the
// keys cannot be derived from a seed: the output is generated once and
// committed under mockcard/testdata/jpki. Run it again only to replace the
// whole set (every test that pins a fixture byte or a digest then changes):
//
//	go run ./mockcard/internal/jpkigen -out mockcard/testdata/jpki
//
// The certificates' contents (names, serials, dates, extensions) are fixed
// in this file; only the keys, and so the signatures, change between runs.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Object identifiers used in the certificates. The policy OIDs are under
// the example arc 2.999 (ITU-T X.660): the fixtures claim no real policy.
var (
	oidCertPolicies   = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidCRLDP          = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidIssuerAltName  = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidQualifierCPS   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}
	oidQualifierUN    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 2}
	oidPolicyAuth     = asn1.ObjectIdentifier{2, 999, 392, 1, 30}
	oidPolicySign     = asn1.ObjectIdentifier{2, 999, 392, 1, 1}
	// Personal attributes of a signing certificate's subjectAltName
	// otherName (name, name in full-width kana, sex, birth date, address),
	// the arc myna's _go/libmyna/jpki_ap.go decodes; values are fictitious.
	oidAttrName  = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 1}
	oidAttrSex   = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 3}
	oidAttrBirth = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 4}
	oidAttrAddr  = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 5}
)

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 15, 0, 0, 0, time.UTC) }

// caName is the distinguished name of a test CA of one generation.
func caName(kind, gen string) pkix.Name {
	return pkix.Name{
		Country:            []string{"JP"},
		Organization:       []string{"freespace test PKI (not J-LIS)"},
		OrganizationalUnit: []string{"Test " + kind + " CA " + gen},
		CommonName:         "freespace test JPKI " + kind + " CA " + gen,
	}
}

// dirName encodes a directoryName GeneralName ([4] EXPLICIT Name).
func dirName(n pkix.Name) asn1.RawValue {
	der, err := asn1.Marshal(n.ToRDNSequence())
	must(err)
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: der}
}

func marshal(v any) []byte {
	der, err := asn1.Marshal(v)
	must(err)
	return der
}

// policies is a certificatePolicies extension with a CPS URI and a user
// notice, as JPKI certificates carry (their size is part of why a real
// certificate is about 1.9 KB).
func policies(oid asn1.ObjectIdentifier, notice string) pkix.Extension {
	type qualifier struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	type policyInfo struct {
		ID         asn1.ObjectIdentifier
		Qualifiers []qualifier
	}
	cps := asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("https://example.invalid/freespace/test-jpki/cps")}
	un := marshal(struct {
		Text string `asn1:"utf8"`
	}{notice})
	return pkix.Extension{Id: oidCertPolicies, Value: marshal([]policyInfo{{ID: oid, Qualifiers: []qualifier{
		{ID: oidQualifierCPS, Value: cps},
		{ID: oidQualifierUN, Value: asn1.RawValue{FullBytes: un}},
	}}})}
}

// crlDP is a cRLDistributionPoints extension whose point is a directory
// name, not a URL (as on JPKI certificates).
func crlDP(point pkix.Name) pkix.Extension {
	type distributionPoint struct {
		Name asn1.RawValue `asn1:"optional,tag:0"`
	}
	full := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: marshal(dirName(point))}
	dpName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: marshal(full)}
	return pkix.Extension{Id: oidCRLDP, Value: marshal([]distributionPoint{{Name: dpName}})}
}

// altName is a GeneralNames extension holding one directory name.
func altName(id asn1.ObjectIdentifier, n pkix.Name) pkix.Extension {
	return pkix.Extension{Id: id, Value: marshal([]asn1.RawValue{dirName(n)})}
}

// personalSAN is the signing certificate's subjectAltName: otherName
// entries with fictitious personal attributes.
func personalSAN() pkix.Extension {
	var names []asn1.RawValue
	for _, a := range []struct {
		id asn1.ObjectIdentifier
		v  string
	}{
		{oidAttrName, "試験 花子 (FICTITIOUS)"},
		{oidAttrSex, "2"},
		{oidAttrBirth, "19800101"},
		{oidAttrAddr, "東京都千代田区試験町1-1 (FICTITIOUS)"},
	} {
		inner := marshal(struct {
			ID    asn1.ObjectIdentifier
			Value string `asn1:"utf8,tag:0,explicit"`
		}{a.id, a.v})
		// otherName is [0] IMPLICIT OtherName: retag the SEQUENCE.
		var seq asn1.RawValue
		_, err := asn1.Unmarshal(inner, &seq)
		must(err)
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: seq.Bytes})
	}
	return pkix.Extension{Id: oidSubjectAltName, Value: marshal(names)}
}

func skid(pub *rsa.PublicKey) []byte {
	der := x509.MarshalPKCS1PublicKey(pub)
	sum := sha1.Sum(der)
	return sum[:]
}

type issued struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	der  []byte
}

func newKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	return k
}

// selfSignedCA makes a self-signed CA certificate: J-LIS's JPKI CAs are
// self-signed roots, one per purpose and generation.
func selfSignedCA(kind, gen string, serial int64, from, to time.Time) issued {
	k := newKey()
	name := caName(kind, gen)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               name,
		NotBefore:             from,
		NotAfter:              to,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          skid(&k.PublicKey),
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	must(err)
	c, err := x509.ParseCertificate(der)
	must(err)
	return issued{k, c, der}
}

// endEntity makes a card certificate issued by ca.
func endEntity(ca issued, subject pkix.Name, serial int64, from, to time.Time, ku x509.KeyUsage, exts []pkix.Extension) issued {
	k := newKey()
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(serial),
		Subject:        subject,
		NotBefore:      from,
		NotAfter:       to,
		KeyUsage:       ku,
		SubjectKeyId:   skid(&k.PublicKey),
		AuthorityKeyId: ca.cert.SubjectKeyId,
		OCSPServer:     []string{"http://ocsp.example.invalid/freespace/test-jpki"},
		IssuingCertificateURL: []string{"http://repository.example.invalid/freespace/test-jpki/ca-certificates/" +
			strings.ReplaceAll(strings.ToLower(ca.cert.Subject.OrganizationalUnit[0]), " ", "-") + ".cer"},
		ExtraExtensions:    exts,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	must(err)
	c, err := x509.ParseCertificate(der)
	must(err)
	return issued{k, c, der}
}

// authSubject is an auth certificate's subject: an opaque identifier, no
// personal data (a JPKI auth certificate carries no name or address).
func authSubject(id string) pkix.Name {
	return pkix.Name{Country: []string{"JP"}, CommonName: id}
}

func authExts(ca pkix.Name) []pkix.Extension {
	return []pkix.Extension{
		policies(oidPolicyAuth, "freespace test PKI: a user authentication certificate made for tests only. It was not issued by J-LIS and is trusted by nothing but the freespace tests; its key is public."),
		altName(oidIssuerAltName, pkix.Name{Country: []string{"JP"}, Organization: []string{"freespace test PKI 試験用公的個人認証サービス"},
			OrganizationalUnit: []string{"試験用 利用者証明用電子証明書 認証局 (TEST ONLY, NOT J-LIS)", "試験用 認証局運営部門", "試験用 電子証明書発行システム 第一系統"}}),
		crlDP(pkix.Name{Country: []string{"JP"}, Organization: []string{"freespace test PKI 試験用公的個人認証サービス"},
			OrganizationalUnit: []string{ca.OrganizationalUnit[0], "試験用 失効情報 配布点 (CRL Distribution Point)"}, CommonName: "CRL DP 0001"}),
	}
}

func main() {
	out := flag.String("out", "mockcard/testdata/jpki", "output directory")
	flag.Parse()
	must(os.MkdirAll(*out, 0o755))

	authCA2015 := selfSignedCA("Auth", "2015", 0x2015_01, date(2015, 10, 19), date(2025, 10, 19))
	authCA2023 := selfSignedCA("Auth", "2023", 0x2023_01, date(2023, 7, 15), date(2033, 7, 15))
	signCA2023 := selfSignedCA("Sign", "2023", 0x2023_02, date(2023, 7, 15), date(2033, 7, 15))
	rogueCA := selfSignedCA("Auth", "2023", 0x2023_01, date(2023, 7, 15), date(2033, 7, 15)) // same name and serial, other key

	auth := endEntity(authCA2023, authSubject("TESTAUTH0000000000000001"), 10000001,
		date(2025, 1, 6), date(2030, 1, 6), x509.KeyUsageDigitalSignature, authExts(authCA2023.cert.Subject))
	auth2 := endEntity(authCA2023, authSubject("TESTAUTH0000000000000002"), 10000002,
		date(2025, 1, 6), date(2030, 1, 6), x509.KeyUsageDigitalSignature, authExts(authCA2023.cert.Subject))
	authOld := endEntity(authCA2015, authSubject("TESTAUTH0000000000000003"), 9000003,
		date(2020, 3, 2), date(2025, 3, 2), x509.KeyUsageDigitalSignature, authExts(authCA2015.cert.Subject))
	authRogue := endEntity(rogueCA, authSubject("TESTAUTH0000000000000001"), 10000001,
		date(2025, 1, 6), date(2030, 1, 6), x509.KeyUsageDigitalSignature, authExts(rogueCA.cert.Subject))
	signExts := append([]pkix.Extension{
		policies(oidPolicySign, "freespace test PKI: signing certificate for tests only; the personal attributes are fictitious."),
		personalSAN(),
	}, authExts(signCA2023.cert.Subject)[1:]...)
	sign := endEntity(signCA2023, pkix.Name{Country: []string{"JP"}, Locality: []string{"Tokyo"}, CommonName: "TESTSIGN0000000000000001"}, 20000001,
		date(2025, 1, 6), date(2030, 1, 6), x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment, signExts)

	for _, f := range []struct {
		name string
		c    issued
		key  bool
	}{
		{"auth-ca-2015", authCA2015, true},
		{"auth-ca-2023", authCA2023, true},
		{"sign-ca-2023", signCA2023, true},
		{"rogue-auth-ca-2023", rogueCA, true},
		{"card-auth", auth, true},
		{"card2-auth", auth2, true},
		{"card-old-auth", authOld, true},
		{"rogue-card-auth", authRogue, true},
		{"card-sign", sign, true},
	} {
		must(os.WriteFile(filepath.Join(*out, f.name+".der"), f.c.der, 0o644))
		kder, err := x509.MarshalPKCS8PrivateKey(f.c.key)
		must(err)
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
		must(os.WriteFile(filepath.Join(*out, f.name+".key.pem"), pemKey, 0o644))
		fmt.Printf("%-22s %5d bytes  serial %d  %s .. %s\n", f.name, len(f.c.der), f.c.cert.SerialNumber,
			f.c.cert.NotBefore.Format(time.DateOnly), f.c.cert.NotAfter.Format(time.DateOnly))
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "jpkigen:", err)
		os.Exit(1)
	}
}
