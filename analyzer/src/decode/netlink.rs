//! Framing of stored netlink artifacts: messages back to back, each starting with its
//! `nlmsghdr` (length u32, type u16, flags u16, seq u32, pid u32, host byte order), padded to
//! 4 bytes (`NLMSG_ALIGN` in `include/uapi/linux/netlink.h`).

/// `NLMSG_ERROR`: the kernel refused a request or ended a dump with an error.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`: set on messages we sent (kept in a few artifacts before their replies).
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_DUMP_INTR`: the dump was interrupted by a change and may be inconsistent.
pub const NLM_F_DUMP_INTR: u16 = 0x10;

const HEADER_LEN: usize = 16;

/// One message: its header fields and the whole message bytes (header included), as the
/// `netlink-packet-*` parsers expect them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMessage<'a> {
    /// Byte offset of the message in the artifact, for error messages and evidence locators.
    pub offset: usize,
    pub message_type: u16,
    pub flags: u16,
    pub bytes: &'a [u8],
}

impl RawMessage<'_> {
    pub fn is_request(&self) -> bool {
        self.flags & NLM_F_REQUEST != 0
    }

    /// For `NLMSG_ERROR` messages: the (negative) errno, 0 for an acknowledgement.
    pub fn error_code(&self) -> Option<i32> {
        if self.message_type != NLMSG_ERROR {
            return None;
        }
        let b = self.bytes.get(HEADER_LEN..HEADER_LEN + 4)?;
        Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The framing of an artifact is broken at `offset`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed netlink message at byte {offset}: {what}")]
pub struct FramingError {
    pub offset: usize,
    pub what: &'static str,
}

/// Iterates over the messages of an artifact. After the first framing error it yields that
/// error and stops: what came before is still usable.
pub fn messages(data: &[u8]) -> Messages<'_> {
    Messages {
        data,
        offset: 0,
        failed: false,
    }
}

/// Iterator returned by [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    data: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<RawMessage<'a>, FramingError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.data.len() {
            return None;
        }
        let offset = self.offset;
        let rest = &self.data[offset..];
        let fail = |what| Some(Err(FramingError { offset, what }));
        if rest.len() < HEADER_LEN {
            self.failed = true;
            return fail("truncated header");
        }
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < HEADER_LEN {
            self.failed = true;
            return fail("length smaller than the header");
        }
        if len > rest.len() {
            self.failed = true;
            return fail("length runs past the end of the data");
        }
        let message_type = u16::from_ne_bytes([rest[4], rest[5]]);
        let flags = u16::from_ne_bytes([rest[6], rest[7]]);
        // The last message of a buffer may lack its padding.
        self.offset = offset + len.next_multiple_of(4).min(rest.len());
        Some(Ok(RawMessage {
            offset,
            message_type,
            flags,
            bytes: &rest[..len],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, ty: u16, flags: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&[0; 8]);
        v
    }

    #[test]
    fn splits_padded_messages_and_reads_errors() {
        let mut data = header(18, 16, 2);
        data.extend_from_slice(&[0xaa, 0xbb, 0, 0]); // 2 payload bytes + 2 padding
        let mut err = header(20, NLMSG_ERROR, 0);
        err.extend_from_slice(&(-2i32).to_ne_bytes());
        data.extend_from_slice(&err);
        let got: Vec<_> = messages(&data)
            .collect::<Result<_, _>>()
            .expect("well framed");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].bytes.len(), 18);
        assert_eq!(got[1].offset, 20);
        assert_eq!(got[1].error_code(), Some(-2));
        assert_eq!(got[0].error_code(), None);
    }

    #[test]
    fn stops_at_broken_framing_after_yielding_good_messages() {
        let mut data = header(16, NLMSG_DONE, 0);
        data.extend_from_slice(&header(400, 16, 0)); // claims more than there is
        let got: Vec<_> = messages(&data).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().expect_err("broken").offset, 16);
        for cut in 0..data.len() {
            // Never panics on any truncation.
            let _ = messages(&data[..cut]).count();
        }
        assert!(messages(&header(3, 0, 0))
            .next()
            .expect("one item")
            .is_err());
    }
}
