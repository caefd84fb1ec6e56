#!/bin/bash
# A stand-in for kubectl that answers from recorded runs of the real one, so a bundle captured in
# the VM lab (which has no cluster) carries what kubectl printed for the same Kubernetes state.
#
#   NETSNAP_KUBECTL_DIR=DIR kubectl-replay.sh ARGS...     replay: print DIR/KEY.stdout, copy
#                                                         DIR/KEY.stderr to stderr, exit DIR/KEY.rc
#   NETSNAP_KUBECTL_DIR=DIR NETSNAP_KUBECTL_REAL=/usr/bin/kubectl kubectl-replay.sh ARGS...
#                                                         record: run the real kubectl, pass its
#                                                         output through and keep it in DIR
#
# KEY is ARGS without the per-run options the collector adds (--kubeconfig=..., --request-timeout=...),
# joined with "_" and with "/" turned into "_": `get --raw /version` -> `get_--raw__version`.
# An ARGS list that was never recorded fails with a clear message (exit 1), so a collector that
# asks for something new shows up in the manifest as an error instead of passing unnoticed.
set -u
dir=${NETSNAP_KUBECTL_DIR:?set NETSNAP_KUBECTL_DIR to the recorded answers}
key_args=()
for a in "$@"; do
	case "$a" in
	--kubeconfig=* | --request-timeout=*) ;;
	*) key_args+=("$a") ;;
	esac
done
key=$(printf '%s_' "${key_args[@]}")
key=${key%_}
key=${key//\//_}

if [ -n "${NETSNAP_KUBECTL_REAL:-}" ]; then
	mkdir -p "$dir" || exit 1
	"$NETSNAP_KUBECTL_REAL" "$@" >"$dir/$key.stdout" 2>"$dir/$key.stderr"
	rc=$?
	echo "$rc" >"$dir/$key.rc"
	[ -s "$dir/$key.stderr" ] || rm -f "$dir/$key.stderr"
	cat "$dir/$key.stdout"
	[ -f "$dir/$key.stderr" ] && cat "$dir/$key.stderr" >&2
	exit "$rc"
fi

if [ ! -f "$dir/$key.rc" ]; then
	echo "error: stand-in kubectl has no recorded answer for: ${key_args[*]} (in $dir)" >&2
	exit 1
fi
cat "$dir/$key.stdout"
[ -f "$dir/$key.stderr" ] && cat "$dir/$key.stderr" >&2
exit "$(cat "$dir/$key.rc")"
