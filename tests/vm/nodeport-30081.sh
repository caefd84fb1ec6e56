#!/bin/bash
# The four stages of the NodePort 30081 case in one boot, in order (stage 1 needs ip_vs absent;
# the others load it), each in its own network namespace. Run by scripts/nodeport-fixtures:
#   scripts/vm-lab tests/vm/nodeport-30081.sh OUT_DIR [ONLY="2-ipip-always 4-healthy"]
# Exit status: 0 when every stage passed its checks, 1 otherwise.
set -u
dir=${LAB_SCRIPT_DIR:-$(dirname "$0")}
args=("$@")
for kv in "$@"; do case "$kv" in ONLY=*) ONLY=${kv#ONLY=} ;; esac; done
failed=()
for st in 1-modules-missing 2-ipip-always 3-tunl0-up 4-healthy; do
	case " ${ONLY:-$st} " in *" $st "*) ;; *) continue ;; esac
	bash "$dir/scenarios/nodeport-30081-$st.sh" "${args[@]}" || failed+=("$st")
	echo
done
if [ ${#failed[@]} -eq 0 ]; then
	echo "NODEPORT 30081: PASS"
	exit 0
fi
echo "NODEPORT 30081: FAIL (${failed[*]})"
exit 1
