#!/usr/bin/env bash
# The project's test command: checks formatting and vet, checks that the
# module builds without cgo, starts a private pcscd with virtual readers
# (vsmartcard's vpcd driver) and runs `go test -race` with the PC/SC tests
# required. The private pcscd is stopped by its PID on exit, also on failure.
#
# Usage: scripts/test.sh [go test arguments]   (default: ./...)
#        scripts/test.sh -- command [args]      runs the command instead of
#            go test -race, with the private pcscd up and the environment set
#            (for benchmarks: scripts/test.sh -- go test -bench . ./reader)
# SoftHSM2: a token is created in the run's temporary directory with its own
# SOFTHSM2_CONF (never the system one) and the PKCS#11 tests are required
# (FREESPACE_REQUIRE_PKCS11=1); each test binary makes a fresh token of its
# own beside it (internal/testsupport/pkcs11test).
# Environment: FREESPACE_SKIP_STATIC=1 skips step 2 (for quick iteration on
#              a few packages; CI never sets it),
#              FREESPACE_CONFORMANCE=1 runs step 5 (cardap conformance on
#              cardap mock serve through pcscd) also for a package list
#              (the full run always does),
#              FREESPACE_VPCD_BASE (first vpcd port, default 35963),
#              FREESPACE_VPCD_DEVICES (vpcd devices, 2 slots each, default 8).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. System packages, installed only when missing -------------------------
pkgs=(pcscd libpcsclite-dev vsmartcard-vpcd pkg-config gcc pamtester softhsm2 opensc)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get; install them by hand"
	sudo=()
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || die "missing packages ${missing[*]}; run as root or install them"
		sudo=(sudo)
	fi
	log "installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || die "go is not on PATH"
driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
[[ -f $driver ]] || die "$driver not found (package vsmartcard-vpcd)"
pcscd_bin=$(command -v pcscd || echo /usr/sbin/pcscd)
[[ -x $pcscd_bin ]] || die "pcscd not found (package pcscd)"

# --- 2. Static checks ---------------------------------------------------------
if [[ ${FREESPACE_SKIP_STATIC:-} != 1 ]]; then
	log "gofmt"
	unformatted=$(gofmt -l .)
	[[ -z $unformatted ]] || die "gofmt needed on: $unformatted"
	log "go vet"
	go vet ./...
	# staticcheck is pinned as a tool dependency in go.mod (go tool).
	log "staticcheck"
	go tool staticcheck ./...
	log "build and vet without cgo"
	CGO_ENABLED=0 go build ./...
	CGO_ENABLED=0 go vet ./...
	# The platform matrix (README "Platforms"): vet everywhere, and compile
	# every test binary for windows/amd64. All without cgo: Windows needs
	# none (winscard through syscalls); darwin and the ARM targets then
	# check the no-cgo stub reader (their cgo bindings are not compiled here).
	log "cross-compile: go vet for windows, darwin and linux ARM"
	for target in windows/amd64 windows/arm64 darwin/arm64 darwin/amd64 linux/arm64 linux/arm; do
		CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
	done
	log "cross-compile: go test -c for windows/amd64"
	testbin=$(mktemp -d "${TMPDIR:-/tmp}/freespace-wintest.XXXXXX")
	# One output per package (two packages build cardap.test); packages
	# without tests produce nothing.
	for pkg in $(GOOS=windows go list ./...); do
		CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go test -c -o "$testbin/${pkg//\//_}.test.exe" "$pkg" ||
			{ rm -rf "$testbin"; die "go test -c for windows/amd64 failed: $pkg"; }
	done
	ls "$testbin" | grep -q 'cmd_cardap.test.exe' || { rm -rf "$testbin"; die "no windows test binary for cmd/cardap"; }
	rm -rf "$testbin"
fi

# --- 3. A private pcscd -------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/freespace-pcsc.XXXXXX")
pcscd_pid=
serve_pid=
cleanup() {
	local rc=$?
	if [[ -n $serve_pid ]] && kill -0 "$serve_pid" 2>/dev/null; then
		kill -TERM "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	if [[ -n $pcscd_pid ]] && kill -0 "$pcscd_pid" 2>/dev/null; then
		kill -TERM "$pcscd_pid" 2>/dev/null || true
		wait "$pcscd_pid" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -s $work/pcscd.log ]]; then
		printf '\n--- pcscd log (last lines) ---\n' >&2
		tail -n 30 "$work/pcscd.log" >&2 || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port is busy when a TCP socket of this machine is bound to it. Read from
# /proc rather than by connecting: a connection to a vpcd port would look
# like a card to that pcscd.
port_busy() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

devices=${FREESPACE_VPCD_DEVICES:-8}
((devices >= 1 && devices <= 8)) || die "FREESPACE_VPCD_DEVICES must be 1..8 (pcscd allows 16 readers)"
base=${FREESPACE_VPCD_BASE:-35963}
# Serialize port choice with other runs of this script on the machine until
# our vpcd ports are listening.
exec 9>"${TMPDIR:-/tmp}/freespace-pcsc-ports.lock"
flock -w 60 9 || die "another test run holds the port lock"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	busy=
	for ((p = base; p < base + 2 * devices; p++)); do
		if port_busy "$p"; then busy=$p; break; fi
	done
	[[ -z $busy ]] && break
	log "port $busy is in use; trying the range from $((base + 100))"
	base=$((base + 100))
done
[[ -z $busy ]] || die "no free range of $((2 * devices)) ports for vpcd"

# Each vpcd device gets its own copy of the driver: the driver keeps its
# sockets in static per-slot variables, so devices loaded from one library
# file would share (and overwrite) them.
mkdir -p "$work/conf" "$work/drivers" "$work/run" "$work/locks"
ports=()
for ((i = 0; i < devices; i++)); do
	p=$((base + 2 * i))
	ports+=("$p")
	cp "$driver" "$work/drivers/libifdvpcd-$p.so"
	printf 'FRIENDLYNAME "Freespace vpcd %d"\nDEVICENAME   /dev/null:%d\nLIBPATH      %s\nCHANNELID    %d\n\n' \
		"$p" "$p" "$work/drivers/libifdvpcd-$p.so" "$p" >>"$work/conf/vpcd"
done

# pcscd 1.9 always uses /run/pcscd for its socket and PID file (only the
# client library reads PCSCLITE_CSOCK_NAME). To never touch a system pcscd,
# run ours in a private mount namespace where /run/pcscd is our directory,
# and point the clients at the socket in it.
inner='mount -t tmpfs -o mode=755 none /run && mkdir /run/pcscd && mount --bind "$0" /run/pcscd && exec "$1" --foreground -c "$2"'
mode=
if unshare --mount --propagation private true 2>/dev/null; then
	mode=(unshare --mount --propagation private)
elif unshare --user --map-root-user --mount --propagation private true 2>/dev/null; then
	mode=(unshare --user --map-root-user --mount --propagation private)
fi
if [[ -n ${mode[*]} ]]; then
	log "starting a private pcscd (isolated: ${mode[*]})"
	"${mode[@]}" sh -c "$inner" "$work/run" "$pcscd_bin" "$work/conf" >"$work/pcscd.log" 2>&1 &
	pcscd_pid=$!
	export PCSCLITE_CSOCK_NAME=$work/run/pcscd.comm
else
	# No namespaces: only safe when no pcscd owns /run/pcscd.
	if [[ -S /run/pcscd/pcscd.comm ]] || pgrep -x pcscd >/dev/null; then
		die "a pcscd is already running and this system cannot isolate a second one (no mount namespaces); stop it (systemctl stop pcscd.socket pcscd) or run as root"
	fi
	[[ -w /run ]] || die "cannot create /run/pcscd; run as root"
	log "starting a private pcscd (no namespace available; using /run/pcscd)"
	"$pcscd_bin" --foreground -c "$work/conf" >"$work/pcscd.log" 2>&1 &
	pcscd_pid=$!
	export PCSCLITE_CSOCK_NAME=/run/pcscd/pcscd.comm
fi
for ((i = 0; i < 100; i++)); do
	[[ -S $PCSCLITE_CSOCK_NAME ]] && break
	kill -0 "$pcscd_pid" 2>/dev/null || die "pcscd exited at start: $(cat "$work/pcscd.log")"
	sleep 0.05
done
[[ -S $PCSCLITE_CSOCK_NAME ]] || die "pcscd did not create its socket"
for ((i = 0; i < 100; i++)); do
	port_busy "$((base + 2 * devices - 1))" && break
	sleep 0.05
done
flock -u 9
exec 9>&-
log "pcscd PID $pcscd_pid, socket $PCSCLITE_CSOCK_NAME, vpcd ports ${ports[*]} (+1 each)"

# --- 4. A SoftHSM2 token -------------------------------------------------------
# The PKCS#11 tests (keys/pkcs11, cmd/cardap keys, the HSM end-to-end tests)
# are required here: a token that cannot be created fails the run. The token
# lives in the run's directory (removed on exit) under its own SOFTHSM2_CONF.
softhsm_module=/usr/lib/softhsm/libsofthsm2.so
[[ -e $softhsm_module ]] || die "$softhsm_module not found (package softhsm2)"
command -v softhsm2-util >/dev/null || die "softhsm2-util not found (package softhsm2)"
mkdir -p "$work/softhsm/tokens"
chmod 700 "$work/softhsm"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
	"$work/softhsm/tokens" >"$work/softhsm/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm/softhsm2.conf
FREESPACE_PKCS11_PIN=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
so_pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
softhsm2-util --init-token --free --label freespace-ci --pin "$FREESPACE_PKCS11_PIN" --so-pin "$so_pin" >"$work/softhsm/init.log" 2>&1 ||
	die "cannot create a SoftHSM2 token: $(cat "$work/softhsm/init.log")"
softhsm2-util --show-slots 2>/dev/null | grep -q 'freespace-ci' || die "the SoftHSM2 token freespace-ci is not listed"
export FREESPACE_PKCS11=1 FREESPACE_REQUIRE_PKCS11=1 FREESPACE_PKCS11_MODULE=$softhsm_module
export FREESPACE_PKCS11_TOKEN=freespace-ci FREESPACE_PKCS11_PIN
log "SoftHSM2 token freespace-ci in $work/softhsm (SOFTHSM2_CONF set for this run)"

# --- 5. Tests -----------------------------------------------------------------
export FREESPACE_PCSC=1 FREESPACE_REQUIRE_PCSC=1
export FREESPACE_VPCD_PORTS=$(IFS=,; echo "${ports[*]}")
export FREESPACE_VPCD_NAME="Freespace vpcd"
export FREESPACE_PCSC_LOCKDIR=$work/locks
# The PAM test (examples/pclogin) installs a private service file under
# /etc/pam.d and drives it with pamtester: required when running as root
# (CI), skipped with a message otherwise.
if [[ $(id -u) == 0 ]]; then
	export FREESPACE_REQUIRE_PAM=1
else
	log "not root: the PAM stack test (examples/pclogin) will be skipped"
fi
if [[ ${1:-} == -- ]]; then
	shift
	(($#)) || die "nothing to run after --"
	log "running: $*"
	"$@"
	exit 0
fi
if (($# == 0)); then set -- ./...; fi
log "go test -race $*"
go test -race -timeout 8m "$@"

# --- 5. cardap conformance on cardap mock serve, through pcscd ----------------
# The built binaries, as an operator runs them: the demo card of `mock
# serve` (Types A, C, D, sealed, with a password) in the first vpcd slot,
# and the card-behaviour table run against it through the private pcscd,
# destructive requirements included (the mock is a test card). Exit 6 (a
# requirement failed) fails the run.
if [[ $* == ./... || ${FREESPACE_CONFORMANCE:-} == 1 ]]; then
	log "cardap conformance on cardap mock serve through pcscd"
	go build -o "$work/cardap" ./cmd/cardap
	keyfile=$work/conformance-keys.json
	(
		umask 077
		printf '{"keys": ['
		sep=
		for ap in typea typed; do
			for role in auth update admin; do
				for half in enc mac; do
					printf '%s{"name": "%s-%s-%s", "version": 1, "alg": "aes", "key": "%s"}' \
						"$sep" "$ap" "$role" "$half" "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
					sep=', '
				done
			done
		done
		printf '%s{"name": "typed-data", "version": 1, "alg": "aes", "key": "%s"}]}\n' \
			"$sep" "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
	) >"$keyfile"
	chmod 600 "$keyfile"
	port=${ports[0]}
	"$work/cardap" mock serve --vpcd "127.0.0.1:$port" --keys "$keyfile" 2>"$work/serve.log" &
	serve_pid=$!
	reader="$FREESPACE_VPCD_NAME $port 00 00"
	for ((i = 0; i < 100; i++)); do
		"$work/cardap" readers --json 2>/dev/null | grep -qF "\"reader\":\"$reader\",\"card_present\":true" && break
		kill -0 "$serve_pid" 2>/dev/null || die "cardap mock serve exited: $(cat "$work/serve.log")"
		sleep 0.1
	done
	for typ in c a d; do
		rc=0
		FS_CONFORMANCE_PW=1234 "$work/cardap" conformance --type "$typ" --reader "$reader" --keys "$keyfile" \
			--password-env FS_CONFORMANCE_PW --destructive >"$work/conformance-$typ.txt" 2>&1 || rc=$?
		tail -n 1 "$work/conformance-$typ.txt" >&2
		if ((rc != 0)); then
			grep -E ' FAIL ' "$work/conformance-$typ.txt" >&2 || cat "$work/conformance-$typ.txt" >&2
			die "cardap conformance --type $typ exited $rc on the mock card through pcscd"
		fi
	done
	kill -TERM "$serve_pid"
	wait "$serve_pid" 2>/dev/null || true
	serve_pid=
fi
log "all tests passed"
