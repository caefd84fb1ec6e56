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
}

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
        })
    }

    pub fn next_seq(&mut self) -> u32 {
        self.next_seq = self.next_seq.wrapping_add(1);
        self.next_seq
    }

    /// Sends `request` (whose sequence number is `seq`) and collects the replies up to and
    /// including the DONE or ERROR message. Replies to other sequence numbers are dropped.
    pub fn exchange(&mut self, request: &[u8], seq: u32, cap: usize) -> Result<Dump, NlError> {
        self.socket.send(request, 0)?;
        let mut dump = Dump::default();
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NlError::Deadline);
            }
            sys::set_recv_timeout(self.socket.as_raw_fd(), left.max(Duration::from_millis(1)))?;
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
                let end = (f.start + f.len).min(buf.len());
                let at = dump.bytes.len();
                dump.bytes.extend_from_slice(&buf[f.start..end]);
                // nlmsg_pid of a reply is our socket's port id, which changes with every run;
                // it says nothing about the node, so it is stored as 0 to keep bundles
                // byte-stable (the one change made to the kernel's bytes).
                if let Some(pid) = dump.bytes.get_mut(at + 12..at + 16) {
                    pid.fill(0);
                }
                // Keep the stored artifact aligned like the kernel's stream.
                dump.bytes.resize((dump.bytes.len() + 3) & !3, 0);
                if f.flags & NLM_F_DUMP_INTR != 0 {
                    dump.interrupted = true;
                }
                if f.message_type == NLMSG_ERROR {
                    let code = error_code(&buf[f.start..end]).unwrap_or(0);
                    dump.error = (code != 0).then_some(code);
                    return Ok(dump);
                }
                if f.message_type == NLMSG_DONE {
                    return Ok(dump);
                }
                if dump.bytes.len() > cap {
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
}
