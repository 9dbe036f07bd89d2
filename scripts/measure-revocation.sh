#!/bin/sh
# Measures the peak resident memory and the time of `cardap revocation
# publish` and `cardap revocation sync` at 1 and 10 million entries
# (issue 15 item 7; docs/PERFORMANCE.md "Publishing and syncing at 10
# million entries"). Not run in CI: at 10 million entries it writes about
# 3 GB of files and takes minutes.
#
#   scripts/measure-revocation.sh                 # this tree, 1M and 10M
#   BASELINE=<git rev> scripts/measure-revocation.sh
#                                                 # also <rev> at 1M, same run
#   SIZES=1000000 scripts/measure-revocation.sh   # other sizes
#   POPULATED=1 scripts/measure-revocation.sh     # also a full-list sync
#                                                 # into a store holding one
#
# Needs /usr/bin/time (GNU time), which reports each child's peak RSS.
set -eu
cd "$(dirname "$0")/.."
SIZES=${SIZES:-1000000,10000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/measure-revocation.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/cardap" ./cmd/cardap
if [ -n "${BASELINE:-}" ]; then
	mkdir "$work/base"
	git archive "$BASELINE" | tar -x -C "$work/base"
	(cd "$work/base" && go build -o "$work/cardap-base" ./cmd/cardap)
	echo "baseline $(git rev-parse --short "$BASELINE"):"
	go run ./internal/revmeasure -cardap "$work/cardap-base" -n 1000000 -dir "$work/run"
	echo
fi
echo "this tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', modified')):"
go run ./internal/revmeasure -cardap "$work/cardap" -n "$SIZES" -dir "$work/run" ${POPULATED:+-populated}
