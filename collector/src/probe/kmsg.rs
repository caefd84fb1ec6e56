//! Kernel log lines about the Service dataplane, from `/dev/kmsg` read non-blocking: each
//! `read` returns one record, EAGAIN means the end of the buffer, EPIPE means the record was
//! overwritten while we read (skip on). Only records mentioning the keywords below are kept,
//! verbatim (`PRIORITY,SEQ,USEC,FLAGS;message`), newest kept when the cap is reached.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Instant;

use netsnap_bundle::{names, Source};

use super::io_status;
use crate::collect::{cap, Ctx, Record};

const KEYWORDS: &[&str] = &[
    "ip_vs",
    "ipvs",
    "conntrack",
    "ipip",
    "tunl",
    "vxlan",
    "br_netfilter",
    "bridge",
    "nf_tables",
    "calico",
    "flannel",
    "martian",
    "iptables",
];

/// Whether a record (its message part) is about something we look at.
pub fn relevant(record: &str) -> bool {
    let msg = record
        .split_once(';')
        .map_or(record, |(_, m)| m)
        .to_ascii_lowercase();
    KEYWORDS.iter().any(|k| msg.contains(k))
}

fn source() -> Source {
    Source::Files {
        paths: vec!["/dev/kmsg".into()],
    }
}

pub fn planned() -> Vec<(String, Source)> {
    vec![(names::KMSG.to_string(), source())]
}

pub fn probe(ctx: &Ctx) {
    let started = Instant::now();
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg");
    let mut file = match file {
        Ok(f) => f,
        Err(e) => {
            ctx.put(Record::missing(
                names::KMSG,
                source(),
                io_status(&e),
                e.to_string(),
                started,
            ));
            return;
        }
    };
    let mut kept: VecDeque<String> = VecDeque::new();
    let mut size = 0usize;
    let mut dropped = false;
    let mut buf = vec![0u8; 16 * 1024];
    let mut failure = None;
    while !ctx.expired() {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]).into_owned();
                if relevant(&rec) {
                    let rec = if rec.ends_with('\n') { rec } else { rec + "\n" };
                    size += rec.len();
                    kept.push_back(rec);
                    while size > cap::KMSG {
                        match kept.pop_front() {
                            Some(old) => size -= old.len(),
                            None => break,
                        }
                        dropped = true;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let (Some(e), true) = (&failure, kept.is_empty()) {
        ctx.put(Record::missing(
            names::KMSG,
            source(),
            io_status(e),
            e.to_string(),
            started,
        ));
        return;
    }
    let text: String = kept.into_iter().collect();
    let mut r = Record::stored(names::KMSG, source(), text.into_bytes(), cap::KMSG, started);
    if dropped {
        r = r
            .truncated()
            .with_reason("older matching records dropped at the size cap");
    }
    ctx.put(r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_on_the_message() {
        assert!(relevant(
            "6,1234,5678,-;IPVS: Registered protocols (TCP, UDP)\n"
        ));
        assert!(relevant(
            "4,1,2,-;nf_conntrack: table full, dropping packet\n"
        ));
        assert!(!relevant("6,1,2,-;EXT4-fs (vda): mounted filesystem\n"));
        // The keyword must be in the message, not in the prefix fields.
        assert!(!relevant("6,1,2,-;ipv6 ready\n"));
    }
}
