//! kube-proxy: running, configured, and what it programmed against what it should have.

use crate::diagnose::Check;

pub(crate) mod component_messages;
mod conn_reuse;
mod evidence_rules;
mod external_ip_node_ip;
mod iptables_backend;
mod iptables_endpoints;
mod iptables_service_rules;
mod iptables_stale;
mod ipvs_netlink_api;
mod ipvs_real_servers;
mod ipvs_virtual_servers;
mod kube_ipvs0;
pub(crate) mod kube_proxy;
mod kube_proxy_running;
mod nft_expression_missing;
mod nftables_endpoints;
mod nftables_services;
mod node_name;
mod nodeport_addresses;
mod nodeport_localhost;
mod proxy_mode;
mod strict_arp;
pub(crate) mod versions;

pub const CHECKS: &[Check] = &[
    ipvs_virtual_servers::CHECK,
    ipvs_real_servers::CHECK,
    kube_ipvs0::CHECK,
    kube_proxy_running::CHECK,
    node_name::CHECK,
    proxy_mode::CHECK,
    iptables_backend::CHECK,
    nodeport_addresses::CHECK,
    nodeport_localhost::CHECK,
    external_ip_node_ip::CHECK,
    strict_arp::CHECK,
    conn_reuse::CHECK,
    ipvs_netlink_api::CHECK,
    iptables_service_rules::CHECK,
    iptables_endpoints::CHECK,
    iptables_stale::CHECK,
    nftables_services::CHECK,
    nftables_endpoints::CHECK,
    component_messages::CHECK,
    nft_expression_missing::CHECK,
];
