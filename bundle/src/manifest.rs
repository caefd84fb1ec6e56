//! `manifest.json`: who collected the bundle, on which host, when, and for every artifact where
//! it came from and what happened when it was collected.
//!
//! Unknown fields are ignored when reading, so a newer minor version still loads.

use serde::{Deserialize, Serialize};

use crate::version::{FormatVersion, FORMAT_NAME, FORMAT_VERSION};

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    pub format_version: FormatVersion,
    pub collector: CollectorInfo,
    pub host: HostInfo,
    /// RFC 3339 UTC, e.g. `2026-11-25T06:01:02Z`.
    pub started_at: String,
    pub finished_at: String,
    /// Effective user id of the collector; IPVS reads need CAP_NET_ADMIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub euid: Option<u32>,
    /// The collector's options as given (deadline, kubectl use, ...), for the record.
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Sorted by `path`.
    pub artifacts: Vec<Artifact>,
}

/// Which program wrote the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectorInfo {
    pub name: String,
    pub version: String,
}

/// The node the bundle describes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    #[serde(default)]
    pub hostname: String,
    /// `uname -r`.
    #[serde(default)]
    pub kernel_release: String,
    /// `uname -v`.
    #[serde(default)]
    pub kernel_version: String,
    /// `uname -m`.
    #[serde(default)]
    pub machine: String,
    /// `/proc/sys/kernel/random/boot_id`: tells two bundles of the same boot apart from a reboot.
    #[serde(default)]
    pub boot_id: String,
}

/// One collected (or not collected) piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Path inside the bundle, relative, `/`-separated. Present in the archive only when
    /// `status` is `ok` (or when a partial output was kept, see `truncated`).
    pub path: String,
    pub source: Source,
    pub status: Status,
    /// Why the status is not `ok` (or a note on an `ok` one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Size of the stored content.
    #[serde(default)]
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the stored content, when content was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default)]
    pub duration_ms: u64,
    /// The content was cut at the probe's size cap.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// For commands: the exit status (absent when killed by a signal or never started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// For commands: the start of standard error, capped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// Where an artifact's content came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// A netlink request and its reply messages, e.g. family `rtnetlink`, command `RTM_GETLINK`.
    Netlink {
        family: String,
        command: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A file read verbatim (procfs, sysfs, /etc ...).
    File { path: String },
    /// Several files or directory entries summarised into one text by the collector
    /// (sysctl values, the `/sys/module` listing, filtered kernel log lines).
    Files { paths: Vec<String> },
    /// A program's standard output.
    Command { argv: Vec<String> },
    /// Text a person pasted (`netsnap import`, or `netsnap analyze` on a folder of loose
    /// files): the artifact is these line ranges of the pasted files, one after another.
    Pasted { spans: Vec<PastedSpan> },
    /// A source kind of a newer format minor: the artifact still reads, its origin is unknown.
    #[serde(other)]
    Other,
}

/// Lines `first_line ..= first_line + lines - 1` (1-based) of the pasted file `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastedSpan {
    /// Path of the pasted file, relative to the folder it was read from.
    pub file: String,
    pub first_line: usize,
    pub lines: usize,
}

/// What happened when the artifact was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Collected; the content is in the bundle.
    Ok,
    /// The thing does not exist on the node (no such file, tool or resource type).
    Absent,
    /// Permission denied (not root, no CAP_NET_ADMIN, RBAC).
    Denied,
    /// The probe's budget or the global deadline ran out.
    Timeout,
    /// Deliberately not collected; `reason` says why (e.g. it would load a module).
    Skipped,
    /// Anything else that went wrong; `reason` says what.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Absent => "absent",
            Status::Denied => "denied",
            Status::Timeout => "timeout",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

impl Manifest {
    /// A manifest for this format version with no artifacts yet.
    pub fn new(collector: CollectorInfo, host: HostInfo, started_at: String) -> Self {
        Manifest {
            format: FORMAT_NAME.to_string(),
            format_version: FORMAT_VERSION,
            collector,
            host,
            finished_at: started_at.clone(),
            started_at,
            euid: None,
            options: serde_json::Map::new(),
            artifacts: Vec::new(),
        }
    }

    /// The record for the artifact stored at `path`.
    pub fn artifact(&self, path: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_statuses_round_trip() {
        let json = r#"{
            "format": "netsnap-bundle", "format_version": "1.3",
            "collector": {"name": "netsnap-collect", "version": "9.9.9"},
            "host": {"hostname": "n1", "future_field": 1},
            "started_at": "2026-11-25T00:00:00Z", "finished_at": "2026-11-25T00:00:01Z",
            "something_new": [1, 2],
            "artifacts": [
              {"path": "proc/modules", "source": {"kind": "file", "path": "/proc/modules"},
               "status": "ok", "bytes": 3, "sha256": "ab", "duration_ms": 1},
              {"path": "netlink/ipvs/services.nl",
               "source": {"kind": "netlink", "family": "IPVS", "command": "IPVS_CMD_GET_SERVICE"},
               "status": "skipped", "reason": "ip_vs not loaded"}
            ]}"#;
        let m: Manifest = serde_json::from_str(json).expect("parses");
        assert_eq!(m.format_version.minor, 3);
        assert_eq!(m.host.hostname, "n1");
        let ipvs = m.artifact("netlink/ipvs/services.nl").expect("listed");
        assert_eq!(ipvs.status, Status::Skipped);
        assert_eq!(ipvs.reason.as_deref(), Some("ip_vs not loaded"));
        let again: Manifest =
            serde_json::from_str(&serde_json::to_string(&m).expect("ser")).expect("de");
        assert_eq!(again, m);
    }
}
