#!/bin/bash
# IPVS scale benchmark, run inside the VM lab (scripts/bench-ipvs runs it and reads its output):
# SERVICES TCP virtual services x REALS masquerade real servers each, loaded with one
# `ipvsadm -R`; then, in the same boot and on the same table, REPS rounds of
#   ipvsadm -Ln, ipvsadm -Sn, netsnap-collect --only ipvs, netsnap-collect (every probe)
# each timed by GNU time: wall time (%e, seconds), the process's peak RSS (%M, KiB; the
# kernel's ru_maxrss of the waited-for child), user and system CPU seconds (%U, %S). A round runs the four commands one after the
# other, so a slow phase of the host spreads over all of them instead of one.
#
# GNU time is the host's /usr/bin/time (Debian package `time`), run through the host's dynamic
# loader under /host, so the initramfs needs nothing more.
#
# With DIAG=1 (default), after the measured rounds, one `strace -c -f` run of ipvsadm -Ln and of
# the collector (--only ipvs) counts their system calls (strace.*.txt); not part of the figures.
#
# Output in OUT: results.tsv (name, round, seconds, peak KiB, user s, system s), ipvsadm-Ln.txt (the listing the
# bundles must replay byte for byte), bundle/ (last whole run), bundle-ipvs/ (last --only ipvs
# run), ipvs-durations.tsv (the manifest's duration_ms of each IPVS artifact per collector run),
# table.txt (what was loaded), and a PASS or FAIL line on stdout.
set -u
# KEY=VALUE arguments (from scripts/bench-ipvs) set the knobs below.
for kv in "$@"; do
	case "$kv" in SERVICES=* | REALS=* | REPS=* | DIAG=*) export "${kv?}" ;; *) echo "FAIL: unknown argument '$kv'"; exit 1 ;; esac
done
OUT=${OUT:-/out}
SERVICES=${SERVICES:-5000}
REALS=${REALS:-20}
REPS=${REPS:-3}
DIAG=${DIAG:-1}
COLLECTOR=${COLLECTOR:-/work/main/target/x86_64-unknown-linux-musl/collector/netsnap-collect}
fail() { echo "FAIL: $*"; exit 1; }

GNU_TIME=(/host/lib64/ld-linux-x86-64.so.2 --library-path /host/lib/x86_64-linux-gnu /host/usr/bin/time)
[ -x /host/usr/bin/time ] || fail "no GNU time on the host (/usr/bin/time, Debian package 'time')"
"${GNU_TIME[@]}" -f %M true 2>/dev/null >/dev/null || fail "GNU time does not run through the host's loader"
[ -x "/host$COLLECTOR" ] || fail "no collector at /host$COLLECTOR"
COLLECT=("/host$COLLECTOR" --no-kubectl --quiet --deadline 600)

res="$OUT/results.tsv"
durations="$OUT/ipvs-durations.tsv"
mkdir -p "$OUT"
: >"$res"
: >"$durations"

modprobe -a ip_vs ip_vs_rr || fail "cannot load ip_vs"
# ClusterIP-like virtual services 10.96.x.y:80, each with REALS pod endpoints 10.244.a.b:8080
# (distinct within a service, as kube-proxy programs them).
awk -v s="$SERVICES" -v r="$REALS" 'BEGIN {
	for (i = 0; i < s; i++) {
		vip = sprintf("10.96.%d.%d:80", int(i / 250), i % 250 + 1)
		printf "-A -t %s -s rr\n", vip
		for (j = 0; j < r; j++) {
			k = i * r + j
			printf "-a -t %s -r 10.244.%d.%d:8080 -m -w 1\n", vip, int(k / 250) % 256, k % 250 + 1
		}
	}
}' >/tmp/table.rules
t0=${EPOCHREALTIME/./}
ipvsadm -R </tmp/table.rules 2>/tmp/restore.err || fail "ipvsadm -R: $(head -c 300 /tmp/restore.err)"
[ -s /tmp/restore.err ] && fail "ipvsadm -R complained: $(head -c 300 /tmp/restore.err)"
t1=${EPOCHREALTIME/./}
nsvc=$(grep -c '^-A' /tmp/table.rules)
ndst=$(grep -c '^-a' /tmp/table.rules)
printf 'services\t%s\nreal_servers\t%s\nrestore_seconds\t%s\nkernel\t%s\nnproc\t%s\n' \
	"$nsvc" "$ndst" "$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.2f", d / 1e6}')" "$(uname -r)" \
	"$(nproc)" >"$OUT/table.txt"
echo "table loaded: $nsvc services, $ndst real servers in $(sed -n 's/^restore_seconds\t//p' "$OUT/table.txt") s"

# The reference listing, and a check that the kernel holds what was restored.
ipvsadm -Ln >"$OUT/ipvsadm-Ln.txt" || fail "ipvsadm -Ln"
[ "$(grep -c '^TCP ' "$OUT/ipvsadm-Ln.txt")" = "$nsvc" ] || fail "ipvsadm -Ln lists a different number of services"
[ "$(grep -c ' Masq ' "$OUT/ipvsadm-Ln.txt")" = "$ndst" ] || fail "ipvsadm -Ln lists a different number of real servers"

# NAME COMMAND...: one timed run, stdout discarded, appended to results.tsv.
measure() {
	local name=$1 round=$2
	shift 2
	"${GNU_TIME[@]}" -f "%e %M %U %S" -o /tmp/time.out "$@" >/dev/null 2>/tmp/cmd.err ||
		fail "$name exited non-zero: $(head -c 300 /tmp/cmd.err)"
	printf '%s\t%s\t%s\n' "$name" "$round" "$(tr ' ' '\t' </tmp/time.out)" >>"$res"
}
# The manifest's duration_ms of the genl family dump and each IPVS artifact, and their statuses.
ipvs_durations() {
	local name=$1 round=$2 manifest=$3
	jq -r --arg n "$name" --arg r "$round" '.artifacts[]
		| select(.path == "netlink/genl/families.nl" or (.path | startswith("netlink/ipvs/")))
		| [$n, $r, .path, .status, .duration_ms, .bytes] | @tsv' "$manifest" >>"$durations"
}

for round in $(seq 1 "$REPS"); do
	echo "round $round/$REPS"
	measure "ipvsadm -Ln" "$round" ipvsadm -Ln
	measure "ipvsadm -Sn" "$round" ipvsadm -Sn
	rm -rf /tmp/bundle-ipvs
	measure "netsnap-collect --only ipvs" "$round" "${COLLECT[@]}" --only ipvs --output-dir /tmp/bundle-ipvs
	ipvs_durations "--only ipvs" "$round" /tmp/bundle-ipvs/manifest.json
	rm -rf /tmp/bundle
	measure "netsnap-collect (whole)" "$round" "${COLLECT[@]}" --output-dir /tmp/bundle
	ipvs_durations "whole" "$round" /tmp/bundle/manifest.json
done

rm -rf "$OUT/bundle" "$OUT/bundle-ipvs"
cp -r /tmp/bundle "$OUT/bundle" && cp -r /tmp/bundle-ipvs "$OUT/bundle-ipvs" || fail "copying the bundles to OUT"
if [ "$DIAG" = 1 ]; then
	# What hashing the destination dump alone costs here (BusyBox sha256sum, plain C), against
	# the collector's SHA-256 of the same bytes for the manifest.
	"${GNU_TIME[@]}" -f "sha256sum dests.nl: %e s" -o "$OUT/diag.txt" sha256sum "$OUT/bundle-ipvs/netlink/ipvs/dests.nl" >/dev/null
	echo "guest CPU has sha_ni (SHA-256 instructions): $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)" >>"$OUT/diag.txt"
	# The default output, a .tar.gz: what compressing the 36 MB destination dump adds.
	rm -f /tmp/bundle.tar.gz
	"${GNU_TIME[@]}" -f "whole collector to a .tar.gz: %e s, peak RSS %M KiB, %U s user + %S s system" \
		-a -o "$OUT/diag.txt" "${COLLECT[@]}" --output /tmp/bundle.tar.gz >/dev/null 2>&1 ||
		echo "whole collector to a .tar.gz: failed" >>"$OUT/diag.txt"
	echo "tar.gz size: $(wc -c </tmp/bundle.tar.gz 2>/dev/null || echo -) bytes" >>"$OUT/diag.txt"
	rm -f /tmp/bundle.tar.gz
fi
if [ "$DIAG" = 1 ] && command -v strace >/dev/null; then
	strace -c -f -o "$OUT/strace.ipvsadm-Ln.txt" ipvsadm -Ln >/dev/null
	rm -rf /tmp/bundle-strace
	strace -c -f -o "$OUT/strace.collect-only-ipvs.txt" "${COLLECT[@]}" --only ipvs --output-dir /tmp/bundle-strace
	rm -rf /tmp/bundle-strace
fi
ipvsadm -Ln | cmp -s - "$OUT/ipvsadm-Ln.txt" || fail "the IPVS table changed during the run"
bad=$(awk -F'\t' '$4 != "ok"' "$durations")
[ -z "$bad" ] || fail "an IPVS artifact was not ok: $bad"
echo "PASS: measured $REPS rounds"
