#!/bin/bash
# Every VM lab scenario in one boot, each in its own network namespace. Kernel modules are global,
# so the order matters: the modules-absent scenario first, then smoke (which loads ip_vs on
# purpose), then the scenarios that need the modules.
#   scripts/vm-lab tests/vm/all.sh OUT_DIR [COLLECTOR=/abs/host/path] [ONLY="smoke 1-modules-missing"]
# Exit status: 0 when every scenario passed, 1 otherwise.
set -u
dir=${LAB_SCRIPT_DIR:-$(dirname "$0")}
args=("$@")
for kv in "$@"; do case "$kv" in ONLY=*) ONLY=${kv#ONLY=} ;; esac; done
failed=()
for sc in 1-modules-missing smoke 2-ipvs-services 3-healthy; do
	case " ${ONLY:-$sc} " in *" $sc "*) ;; *) continue ;; esac
	bash "$dir/scenarios/$sc.sh" "${args[@]}" || failed+=("$sc")
	echo
done
if [ ${#failed[@]} -eq 0 ]; then
	echo "VM LAB: PASS"
	exit 0
fi
echo "VM LAB: FAIL (${failed[*]})"
exit 1
