//! Pure decoders: bytes or text from a bundle in, typed values out. No I/O here, so every
//! decoder can be fuzzed and tested on captured bytes.

pub mod ipset;
pub mod iptables;
pub mod ipvs;
pub mod k8s;
pub mod modules;
pub mod netlink;
pub mod nft;
pub mod rtnl;
pub mod sysctl;
pub mod text;
