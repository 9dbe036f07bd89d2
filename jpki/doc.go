// Package jpki authenticates the holder of a My Number Card through the
// public JPKI AP that every card carries (公的個人認証サービス, the
// user-authentication certificate 利用者証明用電子証明書), on any card and
// any reader, with no operator keys: the card signs a fresh random
// challenge with its user-authentication key after the holder's 4-digit
// PIN, and the host checks the signature with the key of the card's
// certificate, chains that certificate to the trust anchors the operator
// configures (J-LIS's CA certificates, several generations at once),
// checks its validity at an injected time and its key usage, and asks the
// revocation list (package revocation, optionally OCSP).
//
// # Legal
//
// Verifying JPKI signatures as a business requires the approval of the
// Minister for Internal Affairs and Communications (JPKI Act, 電子署名等に
// 係る地方公共団体情報システム機構の認証業務に関する法律, §17); J-LIS
// gives revocation information (CRL, OCSP) only to approved verifiers or
// through approved platform operators. This package is the technique, not
// the approval. The SDK never reads the My Number (個人番号) and never
// selects the card-face (券面事項入力補助) or card-info APs: it selects the
// JPKI AP only and reads the user-authentication certificate, which
// carries no name, address or birth date (its subject is an opaque
// identifier). The signing certificate (署名用電子証明書, which carries
// them) and the signing key are never used.
//
// # The JPKI AP (public facts)
//
// From OpenSC (src/libopensc/jpki.h, card-jpki.c, pkcs15-jpki.c, commit
// 14c80b0) and jpki/myna (src/jpki.rs, src/reader.rs, commit f85dc71):
//
//   - AID D3 92 F0 00 26 01 00 00 00 01 (jpki.h AID_JPKI), selected by AID
//     (SELECT P1 = 04, P2 = 0C, card-jpki.c jpki_select_file). Never decide
//     by ATR: contactless readers synthesize ATRs.
//   - EFs (selected with P1 = 02, P2 = 0C): 000A the user-authentication
//     certificate and 000B its CA's certificate, readable without a PIN;
//     0018 the authentication PIN (3 tries, jpki.h
//     JPKI_AUTH_PIN_MAX_TRIES; 4 digits); 0017 the authentication key
//     (RSA-2048); 0001/0002 the signing certificate and its CA; 001B the
//     signing PIN (5 tries); 001A the signing key; 0006 a token naming the
//     medium (myna jpki.rs: "JPKIAPICCTOKEN..." on a card, "JPKIAPGPSETOKEN"
//     in a smartphone's secure element).
//   - The certificate's length comes from its DER header (OpenSC reads 4
//     bytes and takes bytes 2-3 + 4; myna parses the BER header), then
//     READ BINARY in chunks.
//   - VERIFY without data, 00 20 00 80, after selecting the PIN EF, answers
//     63Cx with x tries left and spends none (card-jpki.c
//     SC_PIN_CMD_GET_INFO; myna reader.rs read_pin). VERIFY 00 20 00 80 Lc
//     PIN checks the PIN.
//   - After SELECT of the key EF, 80 2A 00 80 Lc DigestInfo 00 (card-jpki.c
//     jpki_compute_signature, CLA 80; myna reader.rs signature) returns
//     the RSA PKCS#1 v1.5 signature (256 bytes) of the DigestInfo given.
//
// # Flow and APDU count
//
// Authenticator.Authenticate sends, with a certificate of about 1.9 KB:
// SELECT AP, SELECT 000A, READ BINARY (the first read carries the DER
// header and as much of the certificate as one APDU may: 8 short reads,
// 1 extended read), SELECT 0018, VERIFY without data (tries left), then
// VERIFY, SELECT 0017 and the signature: 15 short APDUs, 8 with extended
// length (used when the transport has learned that it gets through,
// apdu.LengthSupportOf, or when ReadOptions.MaxChunk asks for it). When the PIN is asked between the
// certificate and the signature (AuthOptions.PIN), the prompt runs outside
// any PC/SC transaction (Windows resets a card held in one for 5 s), and
// the AP and the PIN EF are selected again after it: two APDUs more. The
// certificate, its chain and its revocation are checked before the PIN is
// asked, so an untrusted or revoked card never sees the holder's PIN.
//
// A smartphone's JPKI (its secure element) refuses to show the
// authentication certificate before the PIN (6982 on READ BINARY; myna
// issue 6); the package then reads EF 0006 and reports ErrSmartphone.
//
// # Identity and revocation
//
// The identity of a holder (Identity) is the SHA-256 of the
// authentication certificate's SubjectPublicKeyInfo, with the issuer's
// name and the serial number; the revocation key is the first 16 bytes of
// SHA-256(issuer DER name || serial's DER INTEGER content octets)
// (revocation.CertificateKey), which the revocation store holds beside
// CUIDs and which feed.CRLParser{CertificateKeys: true} derives from a
// CRL whose signature it checked against the issuing CA.
// docs/PROTOCOL.md chapter 10 specifies both.
//
// Errors: a certificate the host refuses is a *CertificateInvalidError
// with an InvalidReason (as crypto/x509's CertificateInvalidError); a
// wrong PIN a *profile.PasswordError unwrapping to *apdu.TriesError; a
// revoked certificate a *RevokedError. A PIN is sent at most once per
// call, never retried, and not at all with one try left unless
// VerifyOptions.AllowLastTry (AuthOptions.AllowLastTry) says so.
package jpki
