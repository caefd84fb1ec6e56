#!/bin/bash
# IPVS scale benchmark, run inside the VM lab (scripts/bench-ipvs runs it): SERVICES virtual
# services x REALS masquerade real servers each, then, in the same boot and on the same table,
# wall time and peak RSS of `ipvsadm -Ln`, `ipvsadm -Sn` and `netsnap-collect`, REPS times each.
# GNU time comes from the host (/host), run through the host's dynamic loader, so the initramfs
# needs nothing more; it reports the child's own peak RSS (%M, KiB) and wall time (%e).
set -u
OUT=${OUT:-/out}
SERVICES=${SERVICES:-5000}
REALS=${REALS:-20}
REPS=${REPS:-3}
COLLECTOR=${COLLECTOR:-/work/main/target/x86_64-unknown-linux-musl/collector/netsnap-collect}
GNU_TIME=(/host/lib64/ld-linux-x86-64.so.2 --library-path /host/lib/x86_64-linux-gnu /host/usr/bin/time)
res="$OUT/results.tsv"
mkdir -p "$OUT"
: >"$res"

modprobe -a ip_vs ip_vs_rr || { echo "FAIL: cannot load ip_vs"; exit 1; }
# 5,000 ClusterIP-like addresses 10.96.x.y:80, each with REALS pod endpoints 10.244.a.b:8080.
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
start=$(date +%s)
ipvsadm -R </tmp/table.rules || { echo "FAIL: ipvsadm -R"; exit 1; }
echo "table loaded in $(( $(date +%s) - start ))s: $(grep -c '^-A' /tmp/table.rules) services, $(grep -c '^-a' /tmp/table.rules) real servers"

measure() { # NAME COMMAND... ; appends "NAME rep seconds maxrss_kib" lines
	local name=$1; shift
	for rep in $(seq 1 "$REPS"); do
		"${GNU_TIME[@]}" -f "%e %M" -o /tmp/time.out "$@" >/dev/null 2>/tmp/cmd.err || {
			echo "FAIL: $name exited non-zero: $(head -c 300 /tmp/cmd.err)"; exit 1; }
		printf '%s\t%s\t%s\n' "$name" "$rep" "$(tr ' ' '\t' </tmp/time.out)" >>"$res"
	done
}

ipvsadm -Ln >"$OUT/ipvsadm-Ln.txt"
measure "ipvsadm -Ln" ipvsadm -Ln
measure "ipvsadm -Sn" ipvsadm -Sn
[ -x "/host$COLLECTOR" ] || { echo "FAIL: no collector at /host$COLLECTOR"; exit 1; }
for rep in $(seq 1 "$REPS"); do
	rm -rf "/tmp/bundle"
	"${GNU_TIME[@]}" -f "%e %M" -o /tmp/time.out "/host$COLLECTOR" --output-dir /tmp/bundle \
		--no-kubectl --quiet || { echo "FAIL: collector"; exit 1; }
	printf '%s\t%s\t%s\n' "netsnap-collect (whole)" "$rep" "$(tr ' ' '\t' </tmp/time.out)" >>"$res"
	# The IPVS probes' own time, as the manifest records it (duration_ms of netlink/ipvs/* and
	# the family dump that precedes them).
	ms=$(jq '[.artifacts[] | select((.path | startswith("netlink/ipvs/")) or .path == "netlink/genl/families.nl") | .duration_ms] | add' /tmp/bundle/manifest.json)
	printf '%s\t%s\t%s\t-\n' "netsnap-collect (IPVS probes, from manifest)" "$rep" "$(awk -v m="$ms" 'BEGIN {printf "%.2f", m / 1000}')" >>"$res"
done
rm -rf "$OUT/bundle" && cp -r /tmp/bundle "$OUT/bundle"
ipvsadm -Ln | cmp -s - "$OUT/ipvsadm-Ln.txt" || echo "NOTE: the table changed during the run"
echo "PASS: measured"
cat "$res"
