//! IPVS generic-netlink messages (to be written).
