//! Replays the bundles captured in the VM lab (a Debian kernel with ip_vs, ipip and dummy links;
//! see `tests/vm/`) against the peer tools' output captured in the same VM run, without a VM:
//! `netsnap show ipvs` must equal `ipvsadm -Ln` byte for byte, the JSON views must agree with
//! iproute2 field by field, and `show modules` with `lsmod`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use netsnap_e2e::{assert_agree, bin_path, pointer, route_key, run_ok, show_json, text};
use serde_json::Value;

const SCENARIOS: &[&str] = &["1-modules-missing", "2-ipvs-services", "3-healthy"];

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/vm-lab")
        .join(name)
}

fn oracle_json(dir: &Path, file: &str) -> Value {
    let path = dir.join("oracle").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn show_text(args: &[&str], bundle: &Path) -> std::process::Output {
    Command::new(bin_path("netsnap"))
        .arg("show")
        .args(args)
        .arg(bundle)
        .output()
        .expect("run netsnap")
}

#[test]
fn show_ipvs_equals_ipvsadm_byte_for_byte() {
    for name in ["2-ipvs-services", "3-healthy"] {
        let dir = scenario(name);
        for (args, oracle) in [
            (&["ipvs"][..], "ipvsadm-Ln.txt"),
            (&["ipvs", "--stats"][..], "ipvsadm-Ln-stats.txt"),
        ] {
            let out = show_text(args, &dir.join("bundle"));
            assert!(
                out.status.success(),
                "{name}: show {args:?} failed: {out:?}"
            );
            let want = std::fs::read(dir.join("oracle").join(oracle)).expect("oracle");
            assert!(
                want.len() > 100,
                "{name}: the oracle {oracle} is nearly empty"
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&want),
                "{name}: netsnap show {args:?} differs from {oracle}"
            );
        }
    }
}

#[test]
fn show_ipvs_says_why_there_is_no_table_when_ip_vs_was_not_loaded() {
    let out = show_text(&["ipvs"], &scenario("1-modules-missing").join("bundle"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped: ip_vs is not loaded"),
        "the reason must reach the user: {err}"
    );
}

#[test]
fn json_views_agree_with_iproute2_captured_in_the_same_vm_run() {
    for name in SCENARIOS {
        let dir = scenario(name);
        let bundle = dir.join("bundle");
        let n = assert_agree(
            &format!("{name} links"),
            &show_json("links", &bundle),
            &oracle_json(&dir, "ip-link.json"),
            &|v| text(v, "ifname"),
            &[
                "ifindex",
                "ifname",
                "flags",
                "mtu",
                "operstate",
                "link_type",
                "address",
                "broadcast",
                "master",
                "link_netnsid",
                "linkinfo/info_kind",
                "linkinfo/info_data",
            ],
        );
        assert!(n >= 3 * 12, "{name}: too few link fields compared ({n})");

        // IPv6 duplicate address detection runs on while the scenario captures its oracles and
        // then the bundle: a link-local address may be `tentative` in one and not the other.
        let ours = without_key(show_json("addrs", &bundle), "tentative");
        let oracle = without_key(oracle_json(&dir, "ip-addr.json"), "tentative");
        assert_agree(
            &format!("{name} addrs"),
            &ours,
            &oracle,
            &|v| text(v, "ifname"),
            &["ifindex", "ifname", "addr_info"],
        );

        // The same DAD race: the local route of a link-local address appears once DAD is done.
        let settled = |v: Value| -> Value {
            let keep =
                |r: &Value| !(text(r, "table") == "local" && text(r, "dst").starts_with("fe80:"));
            Value::Array(
                v.as_array()
                    .map(|a| a.iter().filter(|r| keep(r)).cloned().collect())
                    .unwrap_or_default(),
            )
        };
        let n = assert_agree(
            &format!("{name} routes"),
            &settled(show_json("routes", &bundle)),
            &settled(oracle_json(&dir, "ip-route.json")),
            &route_key,
            &[
                "dst", "gateway", "dev", "table", "protocol", "scope", "type", "prefsrc", "flags",
                "metric",
            ],
        );
        assert!(n >= 10 * 10, "{name}: too few route fields compared ({n})");

        // `ip -j rule` has no family field; our view lists IPv4 then IPv6 rules.
        let mut want = oracle_json(&dir, "ip-rule.json");
        let v6 = oracle_json(&dir, "ip-rule6.json");
        let list = want.as_array_mut().expect("list");
        list.extend(v6.as_array().expect("list").iter().cloned());
        let ours = show_json("rules", &bundle);
        assert_eq!(ours.as_array(), Some(&*list), "{name}: rules");
    }
}

fn without_key(mut v: Value, key: &str) -> Value {
    match &mut v {
        Value::Object(m) => {
            m.remove(key);
            for x in m.values_mut() {
                *x = without_key(x.take(), key);
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = without_key(x.take(), key);
            }
        }
        _ => {}
    }
    v
}

/// `lsmod` lists module, size and use count; `show modules --json` must report exactly the
/// same modules as loaded, with the same use counts.
#[test]
fn show_modules_agrees_with_lsmod() {
    for name in SCENARIOS {
        let dir = scenario(name);
        let lsmod = std::fs::read_to_string(dir.join("oracle/lsmod.txt")).expect("lsmod oracle");
        let want: BTreeMap<String, u64> = lsmod
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.to_string(), f.nth(1)?.parse().ok()?))
            })
            .collect();
        assert!(want.len() > 5, "{name}: lsmod oracle lists too few modules");
        let ours = show_json("modules", &dir.join("bundle"));
        let got: BTreeMap<String, u64> = ours
            .as_array()
            .expect("list")
            .iter()
            .filter(|m| text(m, "status") == "loaded")
            .map(|m| {
                let refs = pointer(m, "refcount")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX);
                (text(m, "name"), refs)
            })
            .collect();
        assert_eq!(got, want, "{name}: loaded modules and use counts");
        let ipvs = ours
            .as_array()
            .and_then(|l| l.iter().find(|m| text(m, "name") == "ip_vs"))
            .expect("ip_vs is always listed");
        let expect = if *name == "1-modules-missing" {
            "not-loaded"
        } else {
            "loaded"
        };
        assert_eq!(text(ipvs, "status"), expect, "{name}: ip_vs");
    }
}

#[test]
fn the_collector_left_ip_vs_unloaded_in_the_broken_scenario() {
    // Written by the VM run itself: /proc/modules just before and after netsnap-collect.
    let dir = scenario("1-modules-missing");
    let before = std::fs::read_to_string(dir.join("modules.before")).expect("modules.before");
    let after = std::fs::read_to_string(dir.join("modules.after")).expect("modules.after");
    assert!(!before.is_empty());
    assert_eq!(before, after, "the collector changed the module list");
    assert!(!after.lines().any(|l| l.starts_with("ip_vs ")));
    let manifest = run_ok(
        Command::new(bin_path("netsnap"))
            .args(["show", "manifest"])
            .arg(dir.join("bundle")),
    );
    let manifest = String::from_utf8_lossy(&manifest.stdout);
    let services = manifest
        .lines()
        .find(|l| l.starts_with("netlink/ipvs/services.nl"))
        .expect("the IPVS probe is listed");
    assert!(
        services.contains("skipped") && services.contains("ip_vs is not loaded"),
        "{services}"
    );
}
