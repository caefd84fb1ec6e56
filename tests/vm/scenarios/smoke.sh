#!/bin/bash
# Smoke: which reads load kernel modules on this real kernel. A link dump and reading
# /proc/modules must load nothing; a generic-netlink lookup of the family "IPVS" by name DOES load
# ip_vs (the kernel calls request_module for an unknown family name). That last one is the
# control: it shows the collector's "loads no module" check can fail.
# Needs ip_vs unloaded at start: run it before anything loads ip_vs (tests/vm/all.sh does).
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin smoke "$@"

if module_loaded ip_vs; then
	fail "precondition: ip_vs is already loaded, so nothing below can be measured"
	lab_end
	exit
fi
m0=$(modules_now)
modules_now >"$SOUT/modules.0"

ip -j -d link show >"$SOUT/link-dump.json"
check "a link dump (ip -j -d link show) loads no module" [ "$(modules_now)" = "$m0" ]
cat /proc/modules >/dev/null
check "reading /proc/modules loads no module" [ "$(modules_now)" = "$m0" ]
iptables-legacy-save >/dev/null 2>&1
check "iptables-legacy-save loads no module" [ "$(modules_now)" = "$m0" ]

if [ -f "$BLOCK_FILE" ]; then
	# Left by 1-modules-missing: the same lookup must then fail to load ip_vs, which shows the
	# block that scenario relies on is effective.
	a0=$(attempts)
	genl ctrl get name IPVS >"$SOUT/genl-blocked.txt" 2>&1
	check "with the modprobe.d block the IPVS lookup cannot load ip_vs" eval '! module_loaded ip_vs'
	check "the blocked lookup is logged as a modprobe attempt" [ "$(attempts)" -gt "$a0" ]
	unblock_ip_vs
fi

if ! module_loaded ipip; then
	ip link show tunl0 >"$SOUT/link-tunl0.txt" 2>&1
	check "control: a link lookup by name (ip link show tunl0) loads ipip" module_loaded ipip
else
	note "ipip already loaded: the tunl0-by-name control was not run"
fi

genl ctrl get name IPVS >"$SOUT/genl-ipvs.txt" 2>&1
check "control: a genl family lookup by name (genl ctrl get name IPVS) loads ip_vs" module_loaded ip_vs
modules_now >"$SOUT/modules.1"
note "modules loaded by the lookup: $(grep -vxFf "$SOUT/modules.0" "$SOUT/modules.1" | tr '\n' ' ')"
check "the IPVS family answers once ip_vs is loaded" grep -q 'Name: IPVS' "$SOUT/genl-ipvs.txt"

lab_end
