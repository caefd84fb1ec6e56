//! Small helpers shared by the attribute modules.

use netlink_packet_core::{DecodeError, NlaBuffer, NlasIterator};

/// Parses every attribute nested in `value` with `parse`, stopping at the first error.
pub(crate) fn parse_nested<T>(
    value: &[u8],
    parse: impl Fn(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    NlasIterator::new(value)
        .map(|nla| nla.and_then(|nla| parse(&nla)))
        .collect()
}

/// `union nf_inet_addr` as the kernel puts it with `nla_put(.., sizeof(addr), ..)`: always
/// 16 bytes, an IPv4 address in the first 4.
pub(crate) fn parse_addr16(value: &[u8]) -> Result<[u8; 16], DecodeError> {
    value
        .try_into()
        .map_err(|_| DecodeError::invalid_ip_address(value.len()))
}

/// `nla_put_string` length: the bytes plus the terminating NUL.
pub(crate) fn string_len(s: &str) -> usize {
    s.len() + 1
}

/// `nla_put_string` value: the bytes, then a NUL.
pub(crate) fn emit_string(buffer: &mut [u8], s: &str) {
    buffer[..s.len()].copy_from_slice(s.as_bytes());
    buffer[s.len()] = 0;
}
