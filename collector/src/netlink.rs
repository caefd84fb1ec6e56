//! Synchronous netlink dumps whose replies are kept verbatim (except `nlmsg_pid`, see below): send one request, read datagrams
//! until `NLMSG_DONE` or `NLMSG_ERROR`, return every reply message byte for byte.
//!
//! The socket has a receive timeout (the probe's remaining time), so a read cannot block past
//! the probe's deadline even if the kernel never answers.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable, NLMSG_DONE,
    NLMSG_ERROR, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_sys::{Socket, SocketAddr};

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum NlError {
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    #[error("the kernel sent a malformed netlink message")]
    Malformed,
    #[error("no complete answer before the deadline")]
    Deadline,
    #[error("reply larger than {0} bytes")]
    TooLarge(usize),
}

/// How a dump ended, when its messages went into a caller's buffer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// Some message carried NLM_F_DUMP_INTR.
    pub interrupted: bool,
    /// The dump ended with NLMSG_ERROR carrying this (negative) errno.
    pub error: Option<i32>,
}

/// The reply to one dump request.
#[derive(Debug, Default)]
pub struct Dump {
    /// Every reply message, concatenated, including the final DONE or ERROR.
    pub bytes: Vec<u8>,
    /// Some message carried NLM_F_DUMP_INTR.
    pub interrupted: bool,
    /// The dump ended with NLMSG_ERROR carrying this (negative) errno.
    pub error: Option<i32>,
}

/// One message's header fields and its byte range in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub start: usize,
    pub len: usize,
    pub message_type: u16,
    pub flags: u16,
    pub seq: u32,
}

/// Splits a buffer of back-to-back netlink messages. `None` when the framing is broken.
pub fn frames(data: &[u8]) -> Option<Vec<Frame>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < data.len() {
        let buf = NetlinkBuffer::new_checked(&data[off..]).ok()?;
        let len = buf.length() as usize;
        out.push(Frame {
            start: off,
            len,
            message_type: buf.message_type(),
            flags: buf.flags(),
            seq: buf.sequence_number(),
        });
        // NLMSG_ALIGN: the next message starts on a 4-byte boundary.
        off += (len + 3) & !3;
    }
    Some(out)
}

/// Serialises `payload` as a dump request (`NLM_F_REQUEST | NLM_F_DUMP`) with `seq`.
pub fn dump_request<I: NetlinkSerializable>(payload: I, seq: u32) -> Vec<u8> {
    request(payload, NLM_F_REQUEST | NLM_F_DUMP, seq)
}

/// Serialises `payload` as a request with `flags` and `seq`.
pub fn request<I: NetlinkSerializable>(payload: I, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// The error code of an NLMSG_ERROR message (negative errno, 0 for an ack).
pub fn error_code(msg: &[u8]) -> Option<i32> {
    let b = msg.get(16..20)?;
    Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// Larger than any dump datagram: `netlink_dump` (net/netlink/af_netlink.c) sizes its skbs by
/// the reader's recvmsg length, capped at 32 KiB.
const RECV_BUF: usize = 256 * 1024;

pub struct Conn {
    socket: Socket,
    deadline: Instant,
    next_seq: u32,
    /// One receive buffer for the connection's life: an IPVS read is one dump per service
    /// (5,000 on a large node), and a fresh 256 KiB buffer per recv costs an mmap/munmap pair
    /// and page faults each time with musl's allocator.
    buf: Vec<u8>,
    /// When SO_RCVTIMEO was last set to the time left.
    timeout_set: Option<Instant>,
}

/// SO_RCVTIMEO is set to the time left at most this often: an IPVS read makes two receives per
/// service, and a setsockopt before each doubled its system calls. A receive may so wait up to
/// this much past the deadline.
const TIMEOUT_REFRESH: Duration = Duration::from_millis(100);

impl Conn {
    pub fn open(protocol: isize, deadline: Instant) -> Result<Conn, NlError> {
        let mut socket = Socket::new(protocol)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Conn {
            socket,
            deadline,
            next_seq: 1,
            buf: Vec::with_capacity(RECV_BUF),
            timeout_set: None,
        })
    }

    pub fn next_seq(&mut self) -> u32 {
        self.next_seq = self.next_seq.wrapping_add(1);
        self.next_seq
    }

    /// Sends `request` (whose sequence number is `seq`) and collects the replies up to and
    /// including the DONE or ERROR message. Replies to other sequence numbers are dropped.
    pub fn exchange(&mut self, request: &[u8], seq: u32, cap: usize) -> Result<Dump, NlError> {
        let mut bytes = Vec::new();
        let end = self.exchange_into(request, seq, cap, &mut bytes)?;
        Ok(Dump {
            bytes,
            interrupted: end.interrupted,
            error: end.error,
        })
    }

    /// [`exchange`](Self::exchange), appending the replies to `out` (on an error too, what came
    /// before it stays there): one growing buffer for thousands of small dumps instead of one
    /// allocation, growth and copy each. `cap` bounds this exchange's bytes.
    pub fn exchange_into(
        &mut self,
        request: &[u8],
        seq: u32,
        cap: usize,
        out: &mut Vec<u8>,
    ) -> Result<End, NlError> {
        self.socket.send(request, 0)?;
        let first = out.len();
        let mut end = End::default();
        loop {
            let now = Instant::now();
            let left = self.deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Err(NlError::Deadline);
            }
            if self
                .timeout_set
                .is_none_or(|t| now.duration_since(t) >= TIMEOUT_REFRESH)
            {
                sys::set_recv_timeout(self.socket.as_raw_fd(), left.max(Duration::from_millis(1)))?;
                self.timeout_set = Some(now);
            }
            self.buf.clear();
            match self.socket.recv(&mut self.buf, 0) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(NlError::Deadline)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            let buf = &self.buf;
            let frames = frames(buf).ok_or(NlError::Malformed)?;
            for f in frames {
                if f.seq != seq {
                    continue;
                }
                let stop = (f.start + f.len).min(buf.len());
                let at = out.len();
                out.extend_from_slice(&buf[f.start..stop]);
                // nlmsg_pid of a reply is our socket's port id, which changes with every run;
                // it says nothing about the node, so it is stored as 0 to keep bundles
                // byte-stable (the one change made to the kernel's bytes).
                if let Some(pid) = out.get_mut(at + 12..at + 16) {
                    pid.fill(0);
                }
                // Keep the stored artifact aligned like the kernel's stream.
                out.resize((out.len() + 3) & !3, 0);
                if f.flags & NLM_F_DUMP_INTR != 0 {
                    end.interrupted = true;
                }
                if f.message_type == NLMSG_ERROR {
                    let code = error_code(&buf[f.start..stop]).unwrap_or(0);
                    end.error = (code != 0).then_some(code);
                    return Ok(end);
                }
                if f.message_type == NLMSG_DONE {
                    return Ok(end);
                }
                if out.len() - first > cap {
                    return Err(NlError::TooLarge(cap));
                }
            }
        }
    }

    /// A dump, retried while the kernel flags it NLM_F_DUMP_INTR (a concurrent change).
    pub fn dump_with_retry(
        &mut self,
        build: impl Fn(u32) -> Vec<u8>,
        cap: usize,
    ) -> Result<Dump, NlError> {
        let mut last = None;
        for _ in 0..3 {
            let seq = self.next_seq();
            let dump = self.exchange(&build(seq), seq, cap)?;
            if !dump.interrupted {
                return Ok(dump);
            }
            last = Some(dump);
        }
        Ok(last.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_alignment() {
        // Two messages: one of length 20 (payload 4 bytes), one DONE of length 20.
        let mut data = Vec::new();
        for (ty, flags) in [(16u16, 2u16), (NLMSG_DONE, 2)] {
            data.extend_from_slice(&20u32.to_ne_bytes());
            data.extend_from_slice(&ty.to_ne_bytes());
            data.extend_from_slice(&flags.to_ne_bytes());
            data.extend_from_slice(&7u32.to_ne_bytes());
            data.extend_from_slice(&0u32.to_ne_bytes());
            data.extend_from_slice(&[0; 4]);
        }
        let f = frames(&data).expect("frames");
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].start, 20);
        assert_eq!(f[1].message_type, NLMSG_DONE);
        assert_eq!(f[0].seq, 7);
        assert!(frames(&data[..10]).is_none());
    }

    fn family_dump(seq: u32) -> Vec<u8> {
        use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
        let mut m = netlink_packet_generic::GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![],
        });
        m.finalize();
        dump_request(m, seq)
    }

    /// This host's generic-netlink family dump (it loads nothing), read both ways on one
    /// socket, many times so the receive timeout is reused between receives.
    #[test]
    fn exchange_into_appends_what_exchange_returns() {
        use netlink_sys::protocols::NETLINK_GENERIC;
        let mut c = Conn::open(NETLINK_GENERIC, Instant::now() + Duration::from_secs(20))
            .expect("generic netlink socket");
        let seq = c.next_seq();
        let alone = c.exchange(&family_dump(seq), seq, 1 << 20).expect("dump");
        assert_eq!(alone.error, None);
        let prefix = b"8 bytes!";
        let mut out = prefix.to_vec();
        for _ in 0..50 {
            let seq = c.next_seq();
            let end = c
                .exchange_into(&family_dump(seq), seq, 1 << 20, &mut out)
                .expect("dump into");
            assert_eq!(end, End::default());
        }
        assert_eq!(&out[..8], prefix);
        let body = &out[8..];
        assert_eq!(body.len(), alone.bytes.len() * 50);
        // Each reply carries its own request's sequence number; the rest is the same.
        let without_seq = |bytes: &[u8]| {
            let mut b = bytes.to_vec();
            for f in frames(bytes).expect("frames") {
                b[f.start + 8..f.start + 12].fill(0);
            }
            b
        };
        let reference = without_seq(&alone.bytes);
        for chunk in body.chunks(alone.bytes.len()) {
            assert!(without_seq(chunk) == reference, "a reply differs");
        }
        let f = frames(&alone.bytes).expect("frames");
        assert_eq!(f.last().map(|f| f.message_type), Some(NLMSG_DONE));
        assert!(f.len() > 1, "a dump with families and DONE");
        // The cap counts this exchange's bytes only, not what the buffer already held.
        let seq = c.next_seq();
        let mut small = vec![0; 4096];
        assert!(matches!(
            c.exchange_into(&family_dump(seq), seq, 64, &mut small),
            Err(NlError::TooLarge(64))
        ));
    }
}
