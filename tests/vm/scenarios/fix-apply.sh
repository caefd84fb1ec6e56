#!/bin/bash
# The fix scripts of the NodePort 30081 case on a real kernel. node1 as in stage 1 (ip_vs not
# loaded, nothing in modules-load.d; IPIP on: tunl0 UP with 10.244.0.1 and node2's block routed
# through it, proto bird), with a stand-in kubectl that records its argv: it answers as an API
# server whose pool pool-10-244 is ipipMode Always until patched, and "restarting" kube-proxy
# programs what kube-proxy 1.32 would (np_kube_proxy). Run by tests/tests/vm_lab.rs:
#   scripts/vm-lab tests/vm/scenarios/fix-apply.sh OUT FIX1=/abs/stage1.sh FIX3=/abs/stage3.sh
# FIX1 and FIX3 are what `netsnap fix` wrote for fixtures/nodeport-30081/{1-modules-missing,
# 3-tunl0-up}; the guest reads them under /host.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin fix-apply "$@"

FIX1=/host${FIX1:?FIX1=path of the stage 1 script}
FIX3=/host${FIX3:?FIX3=path of the stage 3 script}
export KUBECTL_LOG=$SOUT/kubectl.log STANDIN_STATE=$SOUT/kubectl-state LAB_LIB=$VM_DIR/lib.sh
mkdir -p "$SOUT/bin" "$STANDIN_STATE"
echo Always >"$STANDIN_STATE/ipipMode"
: >"$KUBECTL_LOG"
cat >"$SOUT/bin/kubectl" <<'KUBECTL'
#!/bin/bash
printf '%s\t' "$@" >>"$KUBECTL_LOG"
printf '\n' >>"$KUBECTL_LOG"
mode=$(cat "$STANDIN_STATE/ipipMode")
case "$*" in
version*) echo "Client Version: v1.32.0"; echo "Server Version: v1.32.0" ;;
"get ippools.crd.projectcalico.org pool-10-244 -o jsonpath={.spec.ipipMode}") printf '%s' "$mode" ;;
"get ippools.crd.projectcalico.org -o jsonpath="*) printf 'pool-10-244=%s\n' "$mode" ;;
"patch ippools.crd.projectcalico.org pool-10-244 --type=merge -p "*)
	case "$6" in
	'{"spec":{"ipipMode":null}}') : >"$STANDIN_STATE/ipipMode" ;;
	*) sed -n 's/^{"spec":{"ipipMode":"\([A-Za-z]*\)"}}$/\1/p' <<<"$6" >"$STANDIN_STATE/ipipMode" ;;
	esac
	echo "ippool.crd.projectcalico.org/pool-10-244 patched" ;;
"-n kube-system delete pod -l k8s-app=kube-proxy "*)
	# The new kube-proxy pod programs the node (once: it keeps what it programmed).
	if ! ip link show kube-ipvs0 >/dev/null 2>&1; then
		SOUT=$STANDIN_STATE bash -c '. "$LAB_LIB"; np_kube_proxy yes' || exit 1
	fi
	echo 'pod "kube-proxy-8wzqj" deleted' ;;
"-n kube-system delete pod -l k8s-app=calico-node "*) echo 'pod "calico-node-x7k2p" deleted' ;;
*) echo "stand-in kubectl: unexpected call: $*" >&2; exit 1 ;;
esac
KUBECTL
chmod 0755 "$SOUT/bin/kubectl"
export PATH=$SOUT/bin:$PATH
export NETSNAP_STATE_DIR=$SOUT/netsnap-state

np_files absent
check "precondition: ip_vs is not loaded" eval '! module_loaded ip_vs'
check "node1 set up (IPIP on)" np_node up

# What the scripts may change, in a form to compare.
state() {
	echo "modules: $(grep -oE '^(ip_vs|ip_vs_rr) ' /proc/modules | sort | tr -d '\n')"
	echo "modules-load.d: $(tr "\n" " " </etc/modules-load.d/netsnap-kube-proxy.conf 2>/dev/null)"
	echo "tunl0: $(ip -o link show dev tunl0 | grep -o '<[^>]*>')"
	echo "tunl0 addresses: $(ip -o addr show dev tunl0 | awk '{print $4}' | tr '\n' ' ')"
	echo "routes via tunl0: $(ip route show table all dev tunl0 | grep -v ' proto kernel' | tr '\n' ';')"
	echo "pool ipipMode: $(cat "$STANDIN_STATE/ipipMode")"
}
acting_calls() { grep -cE '(^|\t)(patch|delete)\t' "$KUBECTL_LOG" || true; }
state >"$SOUT/state.0"

bash "$FIX1" >"$SOUT/dry1.out" 2>&1
check "stage 1 dry run exits 0" [ $? -eq 0 ]
bash "$FIX3" >"$SOUT/dry3.out" 2>&1
check "stage 3 dry run exits 0" [ $? -eq 0 ]
state >"$SOUT/state.dry"
check "the dry runs changed nothing" cmp -s "$SOUT/state.0" "$SOUT/state.dry"
check "the dry runs neither patched nor restarted anything" [ "$(acting_calls)" = 0 ]
check "the dry run says it would load ip_vs" grep -q 'would load module ip_vs: modprobe -- ip_vs' "$SOUT/dry1.out"

bash "$FIX1" --apply >"$SOUT/apply1.out" 2>&1
check "stage 1 --apply exits 0 (its verification passed)" [ $? -eq 0 ]
check "ip_vs and ip_vs_rr are loaded" eval 'module_loaded ip_vs && module_loaded ip_vs_rr'
check "the modules are persisted in our own file" \
	[ "$(cat /etc/modules-load.d/netsnap-kube-proxy.conf)" = "$(printf 'ip_vs\nip_vs_rr\nnf_conntrack')" ]
check "kube-proxy was restarted on node1" grep -qxF -- "$(printf '%s\t' -n kube-system delete pod -l k8s-app=kube-proxy --field-selector spec.nodeName=node1 --wait=false)" "$KUBECTL_LOG"
check "the pool was patched by name, as a merge patch" grep -qxF "$(printf '%s\t' patch ippools.crd.projectcalico.org pool-10-244 --type=merge -p '{"spec":{"ipipMode":"Never"}}')" "$KUBECTL_LOG"
check "the virtual server for :30081 exists" ipvsadm -Ln -t 192.168.122.96:30081
check "the verification found every virtual server" grep -q 'ok: IPVS virtual server TCP 192.168.122.96:30081 exists' "$SOUT/apply1.out"

bash "$FIX3" --apply >"$SOUT/apply3.out" 2>&1
check "stage 3 --apply exits 0" [ $? -eq 0 ]
check "tunl0 is down" eval '! ip -o link show dev tunl0 | grep -q "[<,]UP[,>]"'
check "tunl0 has no address" [ -z "$(ip -o addr show dev tunl0)" ]
check "no route goes through tunl0" [ -z "$(ip route show table all dev tunl0)" ]
check "node2's pod block is no longer routed via tunl0" eval '! ip route show 10.244.1.0/26 | grep -q tunl0'

state >"$SOUT/state.1"
ipvsadm -Sn >"$SOUT/ipvs.1"
calls=$(acting_calls)
bash "$FIX1" --apply >"$SOUT/again1.out" 2>&1
check "stage 1 again exits 0" [ $? -eq 0 ]
bash "$FIX3" --apply >"$SOUT/again3.out" 2>&1
check "stage 3 again exits 0" [ $? -eq 0 ]
check "stage 1 again reports nothing to do" grep -q 'Summary: 0 change(s) made' "$SOUT/again1.out"
check "stage 3 again reports nothing to do" grep -q 'Summary: 0 change(s) made' "$SOUT/again3.out"
state >"$SOUT/state.2"
check "running them again changed nothing" cmp -s "$SOUT/state.1" "$SOUT/state.2"
check "running them again left IPVS as it was" eval 'ipvsadm -Sn | cmp -s - "$SOUT/ipvs.1"'
check "running them again neither patched nor restarted anything" [ "$(acting_calls)" = "$calls" ]

bash "$FIX3" --rollback >"$SOUT/rollback3.out" 2>&1
check "stage 3 --rollback exits 0" [ $? -eq 0 ]
# A restart is not undone: what the restarted kube-proxy programmed is its own, and its
# virtual servers hold ip_vs_rr. Clear it as kube-proxy's removal would, then roll back.
ipvsadm -C && ip link del kube-ipvs0
bash "$FIX1" --rollback >"$SOUT/rollback1.out" 2>&1
check "stage 1 --rollback exits 0" [ $? -eq 0 ]
state >"$SOUT/state.3"
check "the rollbacks restored modules, files, tunl0, routes and the pool" cmp -s "$SOUT/state.0" "$SOUT/state.3"
diff "$SOUT/state.0" "$SOUT/state.3" >>"$SOUT/checks.txt"
lab_end
