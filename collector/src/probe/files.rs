//! Configuration files that decide Service behaviour, stored verbatim under `files/<absolute
//! path>`, each capped. Directories are listed (`listings/<dir>.txt`) and their regular files
//! read, one level deep. Symlinked files are read (CNI configs are often symlinks into a
//! mounted volume) with the link target noted in `reason`. Only regular files are opened: a
//! FIFO or device in a config directory would block or mean nothing.
//!
//! Files whose names suggest credentials are listed but never read: Calico writes a
//! service-account token into `/etc/cni/net.d/calico-kubeconfig`.

use std::fs;
use std::path::Path;
use std::time::Instant;

use netsnap_bundle::{names, Source, Status};

use super::{file_record, io_status};
use crate::collect::{cap, Ctx, Record};
use crate::msg;

/// Directories whose files are taken.
pub const DIRS: &[&str] = &[
    "/etc/modules-load.d",
    "/run/modules-load.d",
    "/usr/lib/modules-load.d",
    "/etc/modprobe.d",
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/lib/sysctl.d",
    "/etc/cni/net.d",
    "/var/lib/kube-proxy",
    "/var/lib/calico",
    "/etc/NetworkManager/conf.d",
];

/// Single files.
pub const FILES: &[&str] = &[
    "/etc/modules",
    "/etc/sysctl.conf",
    "/run/flannel/subnet.env",
    "/var/lib/kubelet/config.yaml",
    "/var/lib/kubelet/kubeadm-flags.env",
    "/etc/default/kubelet",
    "/etc/sysconfig/kubelet",
];

/// Whether a file name suggests it holds credentials.
pub fn may_hold_credentials(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["kubeconfig", "token", "secret", "password"]
        .iter()
        .any(|k| n.contains(k))
        || [".key", ".pem", ".crt", ".p12"]
            .iter()
            .any(|s| n.ends_with(s))
}

fn file_source(path: &str) -> Source {
    Source::File {
        path: path.to_string(),
    }
}

/// One file: regular files (through symlinks) only.
fn take_file(ctx: &Ctx, path: &str) {
    let started = Instant::now();
    let bundle_path = names::file_artifact(path);
    ctx.begin(&bundle_path, &file_source(path));
    let name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if may_hold_credentials(&name) {
        ctx.put(Record::missing(
            bundle_path,
            file_source(path),
            Status::Skipped,
            msg::MAY_HOLD_CREDENTIALS,
            started,
        ));
        return;
    }
    let link = fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.file_type().is_symlink())
        .and_then(|_| fs::read_link(path).ok());
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            ctx.put(Record::missing(
                bundle_path,
                file_source(path),
                Status::Skipped,
                msg::NOT_REGULAR,
                started,
            ));
        }
        Err(e) => {
            ctx.put(Record::missing(
                bundle_path,
                file_source(path),
                io_status(&e),
                e.to_string(),
                started,
            ));
        }
        Ok(_) => {
            let mut r = file_record(&bundle_path, path, cap::FILE);
            if let Some(target) = link {
                r = r.with_reason(msg::symlink_to(&target.to_string_lossy()));
            }
            ctx.put(r);
        }
    }
}

/// `TYPE NAME` lines for a directory listing.
pub fn listing_line(name: &str, ty: fs::FileType, target: Option<&Path>) -> String {
    let t = if ty.is_symlink() {
        "l"
    } else if ty.is_dir() {
        "d"
    } else if ty.is_file() {
        "f"
    } else {
        "o"
    };
    match target {
        Some(target) => format!("{t} {name} -> {}\n", target.display()),
        None => format!("{t} {name}\n"),
    }
}

fn take_dir(ctx: &Ctx, dir: &str) {
    let started = Instant::now();
    let listing = names::listing_artifact(dir);
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            ctx.put(Record::missing(
                listing,
                file_source(dir),
                io_status(&e),
                e.to_string(),
                started,
            ));
            return;
        }
    };
    let mut items: Vec<(String, fs::FileType)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            Some((
                e.file_name().to_string_lossy().into_owned(),
                e.file_type().ok()?,
            ))
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::new();
    let mut files = Vec::new();
    for (name, ty) in &items {
        let full = format!("{}/{name}", dir.trim_end_matches('/'));
        let target = ty.is_symlink().then(|| fs::read_link(&full).ok()).flatten();
        text.push_str(&listing_line(name, *ty, target.as_deref()));
        if !ty.is_dir() {
            files.push(full);
        }
    }
    ctx.put(Record::stored(
        listing,
        file_source(dir),
        text.into_bytes(),
        cap::TEXT,
        started,
    ));
    for f in files {
        if ctx.expired() {
            return;
        }
        // Symlinks to directories (Kubernetes' `..data`) are noted as not regular.
        take_file(ctx, &f);
    }
}

pub fn probe(ctx: &Ctx) {
    for dir in DIRS {
        if ctx.expired() {
            return;
        }
        take_dir(ctx, dir);
    }
    for f in FILES {
        if ctx.expired() {
            return;
        }
        take_file(ctx, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_recognised() {
        for n in [
            "calico-kubeconfig",
            "token",
            "client.key",
            "ca.crt",
            "x.pem",
        ] {
            assert!(may_hold_credentials(n), "{n}");
        }
        for n in [
            "10-calico.conflist",
            "k8s.conf",
            "config.conf",
            "subnet.env",
        ] {
            assert!(!may_hold_credentials(n), "{n}");
        }
    }

    #[test]
    fn symlinked_files_are_read_with_their_target_noted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.conflist");
        fs::write(&real, b"{\"cniVersion\":\"0.3.1\"}").expect("write");
        let link = dir.path().join("10-calico.conflist");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let records = crate::collect::test_ctx(|ctx| take_dir(ctx, &dir.path().to_string_lossy()));
        let link_path = names::file_artifact(&link.to_string_lossy());
        let r = &records[&link_path];
        assert_eq!(r.artifact.status, Status::Ok);
        assert_eq!(r.data(), Some(&b"{\"cniVersion\":\"0.3.1\"}"[..]));
        assert!(r
            .artifact
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("real.conflist"));
        let listing = &records[&names::listing_artifact(&dir.path().to_string_lossy())];
        let text = String::from_utf8_lossy(listing.data().unwrap_or_default()).into_owned();
        assert!(text.starts_with("l 10-calico.conflist -> "), "{text}");
        assert!(text.contains("f real.conflist\n"), "{text}");
    }
}
