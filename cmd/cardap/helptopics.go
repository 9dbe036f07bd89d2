package main

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// helpTopic is one `cardap help <topic>` page.
type helpTopic struct {
	name    string
	summary string
	write   func(w io.Writer)
}

// helpTopics lists the help pages beside the commands' own help.
func helpTopics() []helpTopic {
	return []helpTopic{
		{"keys", "the key file format and the --keys FILE|env:|pkcs11: syntax", func(w io.Writer) { io.WriteString(w, keysHelp) }},
		{"revocation-list", "the revocation list format (CSV/TSV lists and deltas, the signed feed)", func(w io.Writer) { io.WriteString(w, revocationListHelp) }},
		{"exit-codes", "what each exit status means", writeExitCodes},
	}
}

// cmdHelp implements `cardap help [command|topic]`: no argument prints
// the command list and the topics; a topic prints its page; a command
// prints its own help (as `cardap <command> --help`). A topic wins over a
// command of the same name (`help keys` is the key formats; the keys
// command's help is `cardap keys --help`). All on stdout with
// exit 0; an unknown name is a usage error (exit 2).
func cmdHelp(ctx context.Context, c *cli, args []string) int {
	all := args
	args = slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "--json" || a == "-json" })
	if len(args) == 0 {
		usage(c.stdout)
		return exitOK
	}
	if len(args) > 1 {
		err := fmt.Errorf("help: want one command or topic, got %d", len(args))
		fmt.Fprintf(c.stderr, "cardap %v\n", err)
		c.usageJSON(all, err)
		return exitUsage
	}
	for _, t := range helpTopics() {
		if t.name == args[0] {
			t.write(c.stdout)
			return exitOK
		}
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] && cmd.name != "help" {
			return cmd.run(ctx, c, []string{"--help"})
		}
	}
	err := fmt.Errorf("help: no command or topic %q", args[0])
	fmt.Fprintf(c.stderr, "cardap %v\n\n", err)
	writeTopicList(c.stderr)
	c.usageJSON(all, err)
	return exitUsage
}

// writeTopicList lists the help topics.
func writeTopicList(w io.Writer) {
	fmt.Fprintln(w, "help topics (cardap help <topic>):")
	for _, t := range helpTopics() {
		fmt.Fprintf(w, "  %-16s %s\n", t.name, t.summary)
	}
}

// topicNames returns the names of the help topics, sorted.
func topicNames() []string {
	var names []string
	for _, t := range helpTopics() {
		names = append(names, t.name)
	}
	slices.Sort(names)
	return names
}

const keysHelp = `KEYS

Commands that authenticate to a card (typea, typed, password, personalize,
mock serve, ...) take the operator's master keys with one flag:

  --keys FILE            a JSON key file (below)
  --keys env:            the FREESPACE_KEY_* environment variables
  --keys env:PREFIX      the PREFIX* environment variables instead
  --keys pkcs11:URI      keys kept in a PKCS#11 token (RFC 7512 URI):
                         pkcs11:token=LABEL?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:VAR
                         (pin-source: env:VAR, stdin or a 0600 file; never
                         pin-value); the token derives the card keys, the
                         master keys never leave it. Objects: CKA_LABEL =
                         key name, CKA_ID = version as 4 bytes big-endian;
                         create them with 'cardap keys generate|import'

KEY FILE

  {"keys": [
    {"name": "typea-auth-enc", "version": 1, "alg": "aes", "key": "<32 hex digits>"},
    {"name": "typea-auth-mac", "version": 1, "alg": "aes", "key": "<32 hex digits>"}
  ]}

  - every entry has exactly the members name, version, alg and key;
  - alg is "aes" (a key of 16, 24 or 32 bytes) or "3des" (16 bytes);
  - key is hex digits (no escapes); version is 1 or more: several versions
    of a name may be listed, and a card is read with the version its AP
    announces (the newest when it announces none);
  - names: <type>-<role>-enc and <type>-<role>-mac, type typea or typed,
    role auth (reading), update (writing once sealed) or admin (unblock,
    activate): typea-auth-enc, typed-update-mac, ...; typed-data for the
    Type D data envelope.

  The file is a secret: a regular file (not a symbolic link, FIFO or
  device), owned by you or root, mode 0600 or stricter, in a directory
  that only you or root may write. Anything else is refused, and cardap
  prints the command that fixes it (for example chmod 600 FILE).

ENVIRONMENT

  FREESPACE_KEY_<NAME>_V<n>=<alg>:<hex>
  NAME is the key name upper-cased with - and . written as _, n the
  version in decimal without leading zeros:
    FREESPACE_KEY_TYPEA_AUTH_ENC_V1=aes:00112233445566778899aabbccddeeff
  With --keys env:PREFIX the variables are PREFIX<NAME>_V<n>.

Key bytes never appear in output, errors or logs. Key ceremonies
(generate, import, list, rotate, export-public) are the keys command:
cardap keys --help. See docs/PROTOCOL.md chapter 5.
`

const revocationListHelp = `REVOCATION LISTS

A list says which cards (by CUID) or certificates (by serial number) are
refused. "cardap revocation publish --master FILE" turns the operator's
full list into a signed feed; terminals bring their store up to date with
"cardap revocation sync --from URL|DIR", or import a file from a trusted
channel with "--import FILE".

LIST AND DELTA (CSV or TSV, UTF-8, every line ending in LF or CR LF)

  #freespace-revocation/1 list
  #seq 42
  #as-of 2026-11-29T00:00:00Z
  kind,id,revoked_at,reason
  cuid,00112233445566778899aabbccddeeff,2026-11-28T09:30:00Z,lost
  serial,01ab,2026-11-28T10:00:00+09:00,key-compromise
  #end 2

  A delta from sequence 42 to 43 (here tab-separated) adds (+) or
  withdraws (-) keys:

  #freespace-revocation/1 delta
  #seq 43
  #prev 42
  #as-of 2026-11-30T00:00:00Z
  op<TAB>kind<TAB>id<TAB>revoked_at<TAB>reason
  +<TAB>cuid<TAB>ffeeddccbbaa99887766554433221100<TAB>2026-11-29T12:00:00Z<TAB>stolen
  -<TAB>serial<TAB>01ab<TAB><TAB>
  #end 2

  - #seq grows by one per delivery; #prev is #seq - 1; #as-of is when the
    list was current (RFC 3339).
  - kind is cuid (32 lower-case hex digits) or serial (the serial number's
    magnitude in hex, 1 to 20 bytes, leading zero bytes dropped; zero is
    00). A CUID and a serial with the same bytes are different keys.
  - revoked_at is an RFC 3339 time; reason is one of unspecified (or
    empty), lost, stolen, suspended, holder-request, superseded,
    deceased, key-compromise, other.
  - The column header decides the separator (comma or tab); fields are
    never quoted; lines are at most 4096 bytes; a key appears once.
  - "#end N" counts the record lines: a truncated file, or anything after
    the trailer, is refused. A malformed document is refused as a whole,
    with the line of the first error; nothing is applied.

  DER X.509 CRLs are accepted too (--format crl): the CRL number is the
  sequence, thisUpdate the as-of time, each entry a serial.

THE SIGNED FEED (what publish writes and sync reads)

  feed.json              the index: sequence, as-of time, the full list and
                         the recent deltas, each with its size and SHA-256
  feed.json.sig          Ed25519 signature of feed.json (64 bytes)
  list-<seq>.csv         the full list at <seq> (20 digits)
  delta-<seq>.csv        the delta from <seq>-1 to <seq>
  <file>.sig             detached Ed25519 signature of <file>

  A terminal checks the signature with the publisher's public key
  (--pubkey), refuses an index older than its store or dated more than a
  day ahead of its clock, fetches the deltas it needs (else the full
  list), checks each file's size and hash against the signed index, and
  applies only when everything verified. Lists of any size are streamed:
  publish and sync hold a few MiB of them at a time.

See docs/PROTOCOL.md chapter 9 for the local store's binary format and
the freshness rules (checks fail closed on a list older than --max-age).
`

// writeExitCodes renders the exit-code page from the one table
// (exitCodes) and, for each code, the stable error codes of --json
// errors that exit with it (errorClasses).
func writeExitCodes(w io.Writer) {
	fmt.Fprintln(w, "EXIT CODES\n\nEvery cardap command exits with one of these (the same table is in the\nREADME and `cardap --help`):")
	fmt.Fprintln(w)
	for _, e := range exitCodes() {
		fmt.Fprintf(w, "  %d  %s\n", e.Code, e.Meaning)
	}
	fmt.Fprintln(w, "\nUnder --json an error is one JSON object on stdout,\n  {\"error\":\"...\",\"code\":\"...\",\"exit\":N[,\"remedy\":\"...\"][,\"tries_left\":N]}\nwhose stable code is one of these (\"failure\" when none applies):")
	for _, e := range exitCodes() {
		var codes []string
		for _, ec := range errorClasses() {
			if ec.exit == e.Code {
				codes = append(codes, ec.code)
			}
		}
		if e.Code == exitFailure {
			codes = append(codes, "failure")
		}
		if len(codes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n  exit %d:\n", e.Code)
		line := "   "
		for _, c := range codes {
			if len(line)+1+len(c) > 76 {
				fmt.Fprintln(w, line)
				line = "   "
			}
			line += " " + c
		}
		fmt.Fprintln(w, line)
	}
}
