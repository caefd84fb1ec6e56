//! Which links a network manager handles, from the listings people paste:
//! `networkctl status DEV` (systemd-networkd: `● 5: cali1234`, then `Network File: ...` and
//! `State: degraded (configuring)`) and `nmcli device [status]` (NetworkManager: a
//! `DEVICE TYPE STATE CONNECTION` table).
//!
//! systemd-networkd's `networkctl status` prints `Network File: n/a` and the setup state
//! `unmanaged` for a link no `.network` file matches (networkctl.c, `link_status_one`);
//! anything else means networkd configures the link. `nmcli device` prints the state
//! `unmanaged` for a device NetworkManager leaves alone (NetworkManager's
//! `nm_device_state_to_string`); any other state means it handles the device.

/// A link a manager handles, as one listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedLink {
    /// 0-based index of the line that shows it is managed.
    pub line: usize,
    pub device: String,
    /// `systemd-networkd` or `NetworkManager`.
    pub manager: &'static str,
    /// What the listing says (`Network File: /etc/systemd/network/10-x.network`,
    /// `connecting (getting IP configuration)`).
    pub detail: String,
}

/// Every managed link in a `networkctl status` or `nmcli device` listing. Links the listing
/// shows unmanaged, and lines of other forms, yield nothing.
pub fn managed_links(body: &str) -> Vec<ManagedLink> {
    let mut out = Vec::new();
    // networkctl status: the link of the current block, its network file and state.
    let mut device: Option<String> = None;
    let mut nmcli_columns: Option<(usize, usize)> = None;
    for (i, raw) in body.lines().enumerate() {
        let line = raw.trim_end();
        let t = line.trim_start();
        if let Some(dev) = networkctl_header(t) {
            device = Some(dev.to_string());
            nmcli_columns = None;
            continue;
        }
        if t.starts_with("DEVICE") && t.contains("STATE") && t.contains("CONNECTION") {
            let state = line.find("STATE");
            let conn = line.find("CONNECTION");
            nmcli_columns = state.zip(conn).filter(|(s, c)| s < c);
            device = None;
            continue;
        }
        if let Some(dev) = &device {
            if let Some(file) = t.strip_prefix("Network File:").map(str::trim) {
                if !file.is_empty() && file != "n/a" {
                    out.push(ManagedLink {
                        line: i,
                        device: dev.clone(),
                        manager: "systemd-networkd",
                        detail: format!("Network File: {file}"),
                    });
                }
                continue;
            }
            if let Some(state) = t.strip_prefix("State:").map(str::trim) {
                let setup = state
                    .split_once('(')
                    .map(|(_, s)| s.trim_end_matches(')').trim());
                let already = out.last().is_some_and(|m| m.device == *dev);
                if let Some(setup) = setup {
                    if setup != "unmanaged" && !already {
                        out.push(ManagedLink {
                            line: i,
                            device: dev.clone(),
                            manager: "systemd-networkd",
                            detail: format!("State: {state}"),
                        });
                    }
                }
            }
            continue;
        }
        if let Some((s, c)) = nmcli_columns {
            let dev = t.split_whitespace().next().unwrap_or_default();
            let state = line.get(s..c).map(str::trim).unwrap_or_default();
            if !dev.is_empty() && !state.is_empty() && state != "unmanaged" {
                out.push(ManagedLink {
                    line: i,
                    device: dev.to_string(),
                    manager: "NetworkManager",
                    detail: state.to_string(),
                });
            }
        }
    }
    out
}

/// `● 5269: cali2bd9ed59e74` (or without the bullet): the link a `networkctl status` block is
/// about.
fn networkctl_header(t: &str) -> Option<&str> {
    let t = t.strip_prefix('●').map_or(t, str::trim_start);
    let (idx, dev) = t.split_once(": ")?;
    if idx.is_empty() || !idx.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let dev = dev.trim();
    (!dev.is_empty() && dev.len() <= 15 && !dev.contains(char::is_whitespace)).then_some(dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networkctl_status_of_a_managed_veth() {
        let t = "● 5269: cali2bd9ed59e74\n       Link File: /usr/lib64/systemd/network/99-default.link\n    Network File: /etc/systemd/network/10-vmware.network\n            Type: ether\n           State: degraded (configuring)\n          Driver: veth\n";
        let m = managed_links(t);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].device, "cali2bd9ed59e74");
        assert_eq!(m[0].manager, "systemd-networkd");
        assert_eq!(m[0].line, 2);
        assert!(m[0].detail.contains("10-vmware.network"));
    }

    #[test]
    fn unmanaged_links_are_not_listed() {
        let t = "● 12: cali0ab\n    Network File: n/a\n           State: routable (unmanaged)\n";
        assert!(managed_links(t).is_empty());
        let t = "DEVICE           TYPE      STATE                                  CONNECTION\neth0             ethernet  connected                              Wired connection 1\ncali5f3a         ethernet  connecting (getting IP configuration)  Wired connection 2\ntunl0            iptunnel  unmanaged                              --\n";
        let m = managed_links(t);
        assert_eq!(
            m.iter().map(|l| l.device.as_str()).collect::<Vec<_>>(),
            ["eth0", "cali5f3a"]
        );
        assert_eq!(m[1].detail, "connecting (getting IP configuration)");
        assert_eq!(m[1].manager, "NetworkManager");
    }

    #[test]
    fn other_text_yields_nothing() {
        assert!(managed_links("State: degraded (configuring)\nfoo: bar\n").is_empty());
        assert!(managed_links("").is_empty());
    }
}
