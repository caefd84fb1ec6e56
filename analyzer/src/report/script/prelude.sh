set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: bash SCRIPT [--apply] [--any-host] [--rollback]
  (no option)  dry run: print what would be done and change nothing
  --apply      make the changes; each change is recorded so --rollback can undo it
  --any-host   run on a host other than the one the evidence came from
  --rollback   undo what earlier --apply runs recorded, newest first
USAGE
}

APPLY=0 ANY_HOST=0 ROLLBACK=0
for arg in "$@"; do
  case "$arg" in
    --apply) APPLY=1 ;;
    --any-host) ANY_HOST=1 ;;
    --rollback) ROLLBACK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'unknown argument: %s\n' "$arg" >&2; usage >&2; exit 2 ;;
  esac
done

STATE_DIR=${NETSNAP_STATE_DIR:-/var/lib/netsnap}
ROLLBACK_FILE="$STATE_DIR/$FIX_ID.rollback"
MODULES_CONF=/etc/modules-load.d/netsnap-kube-proxy.conf
SYSCTL_CONF=/etc/sysctl.d/90-netsnap-kube-proxy.conf
CHANGES=0 MANUAL=0 UNVERIFIED=0 RESTARTED=0 KUBECTL_OK=
THIS_HOST=$(uname -n)

say() { printf '%s\n' "$@"; }
ok() { printf '  ok: %s; nothing to do\n' "$*"; }
manual() { MANUAL=$((MANUAL + 1)); printf '  MANUAL: %s\n' "$*"; }
fail() { printf 'netsnap fix: %s\n' "$*" >&2; exit 1; }
section() { printf '\n== %s\n' "$*"; }

# `run WHAT CMD...`: a change. Dry run prints it; --apply makes it and stops the script if it
# fails (what was done so far stays recorded for --rollback).
run() {
  local what=$1
  shift
  CHANGES=$((CHANGES + 1))
  if [ "$APPLY" -eq 0 ]; then
    printf '  would %s' "$what"
  else
    printf '  %s' "$what"
  fi
  # A command is shown as one would type it; a helper of this script only by what it does.
  if declare -F -- "$1" >/dev/null; then
    printf '\n'
  else
    printf ':'
    shell_words "$@"
    printf '\n'
  fi
  [ "$APPLY" -eq 1 ] || return 0
  "$@" || fail "failed: $*"
}

# Each argument as a shell word: bare when plain, else single-quoted.
shell_words() {
  local w q="'"
  for w in "$@"; do
    if [[ $w =~ ^[A-Za-z0-9_./=:,@%+-]+$ ]]; then
      printf ' %s' "$w"
    else
      printf " '%s'" "${w//$q/$q\\$q$q}"
    fi
  done
}

# `undo CMD...`: how to take back the change just made, for --rollback.
undo() {
  [ "$APPLY" -eq 1 ] || return 0
  mkdir -p -- "$STATE_DIR"
  { printf '%q ' "$@"; printf '\n'; } >>"$ROLLBACK_FILE"
}

on_host() {
  [ "$ANY_HOST" -eq 1 ] || [ "$THIS_HOST" = "$1" ]
}

kubectl_ready() {
  if [ -z "$KUBECTL_OK" ]; then
    if command -v kubectl >/dev/null 2>&1 && kubectl version --request-timeout=10s >/dev/null 2>&1; then
      KUBECTL_OK=yes
    else
      KUBECTL_OK=no
    fi
  fi
  [ "$KUBECTL_OK" = yes ]
}

no_kubectl() {
  manual "kubectl is missing or cannot reach the API server here, so this was not done: $*"
}

append_line() {
  mkdir -p -- "$(dirname -- "$1")"
  printf '%s\n' "$2" >>"$1"
}

remove_line() {
  [ -f "$1" ] || return 0
  grep -vxF -- "$2" "$1" >"$1.netsnap-new" || true
  if [ -s "$1.netsnap-new" ]; then
    cat -- "$1.netsnap-new" >"$1"
    rm -f -- "$1.netsnap-new"
  else
    rm -f -- "$1.netsnap-new" "$1"
  fi
}

json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

module_present() {
  local m=${1//-/_}
  [ -d "/sys/module/$m" ] || grep -q "^$m " /proc/modules 2>/dev/null
}

load_module() {
  if module_present "$1"; then
    ok "module $1 is loaded"
    return 0
  fi
  run "load module $1" modprobe -- "$1"
  undo modprobe -r -- "$1"
}

persist_module() {
  if [ -f "$MODULES_CONF" ] && grep -qxF -- "$1" "$MODULES_CONF"; then
    ok "$1 is in $MODULES_CONF"
    return 0
  fi
  run "load $1 at every boot" append_line "$MODULES_CONF" "$1"
  undo remove_line "$MODULES_CONF" "$1"
}

set_sysctl() {
  local key=$1 want=$2 now
  if ! now=$(sysctl -n -- "$key" 2>/dev/null); then
    manual "$key does not exist on this kernel; set it where the evidence says"
    return 0
  fi
  if [ "$now" = "$want" ]; then
    ok "$key is $want"
  else
    run "set $key from $now to $want" sysctl -qw -- "$key=$want"
    undo sysctl -qw -- "$key=$now"
  fi
  if [ -f "$SYSCTL_CONF" ] && grep -qxF -- "$key = $want" "$SYSCTL_CONF"; then
    ok "$key = $want is in $SYSCTL_CONF"
  else
    run "keep $key = $want across reboots" append_line "$SYSCTL_CONF" "$key = $want"
    undo remove_line "$SYSCTL_CONF" "$key = $want"
  fi
}

# `restart_node_pod NS DAEMONSET SELECTOR NODE [CHECK ARGS...]`: deleting the node's pod makes
# its DaemonSet start a fresh one, which reads the node again. Only when this run changed
# something the pod must pick up, or when CHECK says what the restart fixes is still broken.
restart_node_pod() {
  local ns=$1 ds=$2 selector=$3 node=$4
  shift 4
  if [ "$CHANGES" -eq 0 ] && { [ "$#" -eq 0 ] || ! "$@"; }; then
    ok "no change in this run for $ds to pick up, and nothing it would fix is broken"
    return 0
  fi
  if ! kubectl_ready; then
    no_kubectl "restart $ds on node $node"
    return 0
  fi
  if [ -n "$node" ]; then
    run "restart $ds on node $node (not undone by --rollback)" \
      kubectl -n "$ns" delete pod -l "$selector" --field-selector "spec.nodeName=$node" --wait=false
  else
    run "restart every $ds pod (not undone by --rollback)" \
      kubectl -n "$ns" rollout restart "daemonset/$ds"
  fi
  RESTARTED=1
}

# `patch_object RESOURCE NAMESPACE NAME PATCH JSONPATH WANT KIND PREFIX SUFFIX`: a merge patch
# of one field, skipped when the field already has the value; --rollback patches the old value
# back (KIND says whether the field is a JSON string; PREFIX and SUFFIX wrap the old value into
# the same patch shape).
patch_object() {
  local res=$1 ns=$2 name=$3 patch=$4 path=$5 want=$6 kind=$7 prefix=$8 suffix=$9 now old
  local nsarg=()
  [ -z "$ns" ] || nsarg=(-n "$ns")
  if ! kubectl_ready; then
    no_kubectl "kubectl patch $res $name --type=merge -p '$patch'"
    return 0
  fi
  if ! now=$(kubectl "${nsarg[@]}" get "$res" "$name" -o "jsonpath=$path" 2>/dev/null); then
    manual "$res $name was not found; check its name in the cluster"
    return 0
  fi
  if [ "$now" = "$want" ]; then
    ok "$res $name already has $path = $want"
    return 0
  fi
  run "patch $res $name ($path: ${now:-unset} -> $want)" \
    kubectl "${nsarg[@]}" patch "$res" "$name" --type=merge -p "$patch"
  if [ -z "$now" ]; then
    old=null
  elif [ "$kind" = string ]; then
    old=$(json_string "$now")
  else
    old=$now
  fi
  undo kubectl "${nsarg[@]}" patch "$res" "$name" --type=merge -p "$prefix$old$suffix"
}

link_exists() {
  ip link show dev "$1" >/dev/null 2>&1
}

# ipvsadm, like any IPVS netlink request, makes the kernel load ip_vs: a check must not change
# the node (the VM lab's dry run caught it doing so), so without ip_vs nothing is asked.
ipvs_readable() {
  module_present ip_vs && command -v ipvsadm >/dev/null 2>&1
}

# `any_ipvs_missing FLAG ADDRESS...`: some of these virtual servers are not in the table.
any_ipvs_missing() {
  ipvs_readable || return 0
  while [ "$#" -ge 2 ]; do
    ipvsadm -Ln "$1" "$2" >/dev/null 2>&1 || return 0
    shift 2
  done
  return 1
}

# `any_route_via IFNAME PROTO DEST...`: some of these routes still go through IFNAME.
any_route_via() {
  local ifname=$1 proto=$2 dest
  shift 2
  for dest in "$@"; do
    [ -z "$(route_line "$ifname" "$proto" "$dest")" ] || return 0
  done
  return 1
}

# `route_line IFNAME PROTO DEST`: the route to DEST through IFNAME (of protocol PROTO, if
# given), whole as `ip route show` prints it, so `ip route add` can put it back. (Filtering
# with `dev` or `proto` would leave those words out of the line.)
route_line() {
  ip route show exact "$3" 2>/dev/null | awk -v dev="$1" -v proto="$2" '{
    d = ""; p = ""
    for (i = 1; i < NF; i++) {
      if ($i == "dev") d = $(i + 1)
      if ($i == "proto") p = $(i + 1)
    }
    if (d == dev && (proto == "" || p == proto)) { print; exit }
  }'
}

# The route may vanish on its own meanwhile (a restarted calico-node removes it): gone is done.
route_del() {
  ip route del "$1" dev "$2" 2>/dev/null || [ -z "$(route_line "$2" "" "$1")" ]
}

delete_route() {
  local ifname=$1 proto=$2 dest=$3 line words
  line=$(route_line "$ifname" "$proto" "$dest")
  if [ -z "$line" ]; then
    ok "no route to $dest through $ifname"
    return 0
  fi
  read -ra words <<<"$line"
  run "delete route $line" route_del "$dest" "$ifname"
  undo ip route add "${words[@]}"
}

flush_addresses() {
  local ifname=$1 addrs addr
  if ! link_exists "$ifname"; then
    ok "$ifname does not exist"
    return 0
  fi
  read -ra addrs <<<"$(ip -o addr show dev "$ifname" | awk '{print $4}' | tr '\n' ' ')"
  if [ "${#addrs[@]}" -eq 0 ]; then
    ok "$ifname has no address"
    return 0
  fi
  run "remove the addresses of $ifname (${addrs[*]})" ip addr flush dev "$ifname"
  for addr in "${addrs[@]}"; do
    undo ip addr add "$addr" dev "$ifname"
  done
}

# Calico's IPIP device is always tunl0 (the kernel's ipip fallback device): it may go down
# only when no IPPool still asks for IPIP.
pools_using_ipip() {
  kubectl get ippools.crd.projectcalico.org \
    -o 'jsonpath={range .items[*]}{.metadata.name}={.spec.ipipMode}{"\n"}{end}' 2>/dev/null |
    grep -v -e '=Never$' -e '=$' | cut -d= -f1 | tr '\n' ' ' || true
}

link_down() {
  local ifname=$1 routes pools
  if ! link_exists "$ifname"; then
    ok "$ifname does not exist"
    return 0
  fi
  if ! ip -o link show dev "$ifname" | grep -q '[<,]UP[,>]'; then
    ok "$ifname is down"
    return 0
  fi
  # The kernel's own routes of the device (its addresses' local routes, IPv6 multicast) go
  # with it; what counts is a route somebody programmed through it.
  routes=$(ip route show table all dev "$ifname" 2>/dev/null | grep -vc ' proto kernel' || true)
  if [ "$ifname" = tunl0 ]; then
    if ! kubectl_ready; then
      no_kubectl "check that no IPPool uses IPIP before taking tunl0 down"
      return 0
    fi
    pools=$(pools_using_ipip)
  else
    pools=
  fi
  if [ "$APPLY" -eq 1 ] && { [ "$routes" -gt 0 ] || [ -n "$pools" ]; }; then
    manual "$ifname stays up: ${routes} route(s) still use it${pools:+, pools still using IPIP: $pools}"
    return 0
  fi
  if [ "$routes" -gt 0 ] || [ -n "$pools" ]; then
    say "  (now ${routes} route(s) use $ifname${pools:+ and IPIP pools are: $pools}; --apply takes it down only once the steps above have removed them)"
  fi
  run "take $ifname down" ip link set dev "$ifname" down
  undo ip link set dev "$ifname" up
}

proto_of() {
  case "$1" in -u) echo UDP ;; --sctp-service) echo SCTP ;; *) echo TCP ;; esac
}

# After kube-proxy restarts it needs a sync period to program the node again.
wait_ipvs() {
  local flag=$1 addr=$2 i
  [ "$APPLY" -eq 1 ] && [ "$RESTARTED" -eq 1 ] || return 0
  ipvs_readable || return 0
  for i in $(seq 1 60); do
    if ipvsadm -Ln "$flag" "$addr" >/dev/null 2>&1; then
      say "  virtual server $(proto_of "$flag") $addr is back (after ${i}s)"
      return 0
    fi
    sleep 1
  done
  say "  virtual server $(proto_of "$flag") $addr is still missing after 60 s"
}

verify_ipvs() {
  local flag=$1 addr=$2
  if ! module_present ip_vs; then
    say "  MISSING: IPVS virtual server $(proto_of "$flag") $addr (ip_vs is not loaded)"
    UNVERIFIED=$((UNVERIFIED + 1))
  elif ! command -v ipvsadm >/dev/null 2>&1; then
    say "  ? ipvsadm is not installed: cannot check virtual server $addr"
    UNVERIFIED=$((UNVERIFIED + 1))
  elif ipvsadm -Ln "$flag" "$addr" >/dev/null 2>&1; then
    say "  ok: IPVS virtual server $(proto_of "$flag") $addr exists"
  else
    say "  MISSING: IPVS virtual server $(proto_of "$flag") $addr (ipvsadm -Ln $flag $addr)"
    UNVERIFIED=$((UNVERIFIED + 1))
  fi
}

# `verify_iptables FAMILY CHAIN PART...`: one rule of the nat chain holds every part.
verify_iptables() {
  local family=$1 chain=$2 tool=iptables rules part
  shift 2
  [ "$family" = 4 ] || tool=ip6tables
  if ! rules=$("$tool" -t nat -S "$chain" 2>/dev/null); then
    say "  MISSING: nat chain $chain ($tool -t nat -S $chain)"
    UNVERIFIED=$((UNVERIFIED + 1))
    return 0
  fi
  for part in "$@"; do
    rules=$(printf '%s\n' "$rules" | grep -F -- "$part" || true)
  done
  if [ -n "$rules" ]; then
    say "  ok: $chain has a rule with $*"
  else
    say "  MISSING: no rule in $chain with $*"
    UNVERIFIED=$((UNVERIFIED + 1))
  fi
}

if [ "$ROLLBACK" -eq 1 ]; then
  if [ ! -f "$ROLLBACK_FILE" ]; then
    say "Nothing to roll back: $ROLLBACK_FILE does not exist."
    exit 0
  fi
  say "Rolling back what --apply recorded in $ROLLBACK_FILE, newest first:"
  tac -- "$ROLLBACK_FILE" | while IFS= read -r step; do
    say "  $step"
    eval "$step" || say "  (that step failed; going on)"
  done
  mv -- "$ROLLBACK_FILE" "$ROLLBACK_FILE.done"
  exit 0
fi
