//! Paths of artifacts inside a bundle. Both programs use these constants, so a rename is one
//! edit here plus a minor format version bump.
//!
//! Netlink artifacts (`*.nl`) hold netlink messages back to back, each starting with its own
//! `nlmsghdr`, exactly as the kernel sent them, including the final `NLMSG_DONE` (or
//! `NLMSG_ERROR`). Where replies cannot be understood without the question (IPVS destinations
//! are dumped per service and the replies do not name the service), the request message we
//! sent precedes its replies; requests are recognisable by `NLM_F_REQUEST` in their flags.

/// The manifest, at the root of the bundle.
pub const MANIFEST: &str = "manifest.json";

/// RTM_GETLINK dump (AF_UNSPEC), with IFLA_LINKINFO details.
pub const RTNL_LINKS: &str = "netlink/rtnl/links.nl";
/// RTM_GETADDR dump (AF_UNSPEC).
pub const RTNL_ADDRS: &str = "netlink/rtnl/addrs.nl";
/// RTM_GETROUTE dump of every table, IPv4.
pub const RTNL_ROUTES_V4: &str = "netlink/rtnl/routes-inet.nl";
/// RTM_GETROUTE dump of every table, IPv6.
pub const RTNL_ROUTES_V6: &str = "netlink/rtnl/routes-inet6.nl";
/// RTM_GETRULE dump, IPv4.
pub const RTNL_RULES_V4: &str = "netlink/rtnl/rules-inet.nl";
/// RTM_GETRULE dump, IPv6.
pub const RTNL_RULES_V6: &str = "netlink/rtnl/rules-inet6.nl";
/// RTM_GETNEIGH dump (AF_UNSPEC).
pub const RTNL_NEIGH: &str = "netlink/rtnl/neigh.nl";

/// CTRL_CMD_GETFAMILY dump: every registered generic-netlink family. A dump never makes the
/// kernel load a module, unlike a lookup by name.
pub const GENL_FAMILIES: &str = "netlink/genl/families.nl";
/// IPVS_CMD_GET_INFO (version, connection table size).
pub const IPVS_INFO: &str = "netlink/ipvs/info.nl";
/// IPVS_CMD_GET_CONFIG (tcp, tcpfin, udp timeouts).
pub const IPVS_CONFIG: &str = "netlink/ipvs/config.nl";
/// IPVS_CMD_GET_DAEMON dump (sync daemons).
pub const IPVS_DAEMONS: &str = "netlink/ipvs/daemons.nl";
/// IPVS_CMD_GET_SERVICE dump.
pub const IPVS_SERVICES: &str = "netlink/ipvs/services.nl";
/// IPVS_CMD_GET_DEST dumps, one per service: each request we sent followed by its replies.
pub const IPVS_DESTS: &str = "netlink/ipvs/dests.nl";

/// `/proc/modules`.
pub const PROC_MODULES: &str = "proc/modules";
/// `/proc/net/ip_vs` (readable without CAP_NET_ADMIN; absent when IPVS is not loaded).
pub const PROC_NET_IP_VS: &str = "proc/net/ip_vs";
/// `/proc/net/ip_vs_stats`.
pub const PROC_NET_IP_VS_STATS: &str = "proc/net/ip_vs_stats";
/// `/proc/cmdline`.
pub const PROC_CMDLINE: &str = "proc/cmdline";
/// `/lib/modules/$(uname -r)/modules.builtin`.
pub const MODULES_BUILTIN: &str = "lib/modules/modules.builtin";
/// `/lib/modules/$(uname -r)/modules.builtin.modinfo` (NUL-separated `module.key=value`).
pub const MODULES_BUILTIN_MODINFO: &str = "lib/modules/modules.builtin.modinfo";
/// One line per `/sys/module/*` entry: `NAME INITSTATE`, `-` when there is no `initstate`
/// file (built-in code with parameters but no module of its own).
pub const SYS_MODULE: &str = "sys/module.txt";
/// `/proc/config.gz` as stored by the kernel (gzip).
pub const KERNEL_CONFIG_GZ: &str = "proc/config.gz";
/// `/boot/config-$(uname -r)`.
pub const KERNEL_CONFIG: &str = "boot/config";

/// Selected sysctls, one `key = value` line each as `sysctl` prints them; keys that do not exist
/// are listed as `# absent: key`, keys that could not be read as `# denied: key` or
/// `# error: key: reason`.
pub const SYSCTLS: &str = "sysctl.txt";
/// Kernel log lines about ip_vs, conntrack, ipip, vxlan, br_netfilter ... from `/dev/kmsg`.
pub const KMSG: &str = "kmsg.txt";

/// Configuration files, stored under `files/` followed by their absolute path on the node,
/// e.g. `files/etc/modules-load.d/k8s.conf`.
pub const FILES_DIR: &str = "files";

/// Directory listings taken with the files, `listings/<absolute dir>.txt` (e.g.
/// `listings/etc/cni/net.d.txt`): one line per entry, sorted by name, `TYPE NAME` where TYPE is
/// `f` (regular file), `d` (directory), `l` (symlink, followed by ` -> TARGET`) or `o` (other).
pub const LISTINGS_DIR: &str = "listings";

/// Optional commands' standard output, `commands/<name>.txt` (e.g. `iptables-legacy-save`).
pub const COMMANDS_DIR: &str = "commands";

/// Kubernetes objects as `kubectl get -o yaml` prints them, `k8s/<resource>.yaml`.
pub const K8S_DIR: &str = "k8s";

/// The bundle path for a file taken from the node.
pub fn file_artifact(node_path: &str) -> String {
    format!("{FILES_DIR}/{}", node_path.trim_start_matches('/'))
}

/// The bundle path for a command's output.
pub fn command_artifact(name: &str) -> String {
    format!("{COMMANDS_DIR}/{name}.txt")
}

/// The bundle path for a Kubernetes resource list or log.
pub fn k8s_artifact(name: &str) -> String {
    format!("{K8S_DIR}/{name}")
}

/// The bundle path for the listing of a node directory.
pub fn listing_artifact(node_dir: &str) -> String {
    format!("{LISTINGS_DIR}/{}.txt", node_dir.trim_matches('/'))
}
