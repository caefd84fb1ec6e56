//! Benchmark: `netsnap analyze` on a node of a large cluster — 5,000 Services (half of them
//! NodePorts) with 10 endpoints each (50,000 endpoints), and an IPVS table of the matching
//! size (10,000 virtual servers, 100,000 real servers), 1% of them drifted so the diff has work.
//!
//! The node evidence (links, addresses, routes, modules, sysctls) is the VM-captured bundle
//! `fixtures/vm-lab/2-ipvs-services`; the Kubernetes YAML and the IPVS netlink dumps are
//! generated here in the shapes kubectl and the kernel produce. Prints the time of each stage,
//! median of several rounds:
//!
//!     cargo bench -p netsnap --bench analyze_scale [-- SERVICES ENDPOINTS_PER_SERVICE ROUNDS]

use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use netlink_ipvs::{
    get_dests, DestAttr, IpvsAttr, IpvsCommand, IpvsFlags, IpvsMessage, ServiceAttr, AF_INET,
    IPPROTO_TCP, IP_VS_SVC_F_HASHED,
};
use netlink_packet_core::{NetlinkMessage, NLM_F_DUMP, NLM_F_MULTIPART, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;
use netsnap::diagnose::analyze;
use netsnap::report::{self, Format, TextOptions};
use netsnap::Bundle;

// The allocator of the `netsnap` binary (see src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FAMILY: u16 = 0x25;
const NODE_ADDRS: [Ipv4Addr; 2] = [
    Ipv4Addr::new(192, 168, 122, 96),
    Ipv4Addr::new(10, 244, 0, 1),
];

fn cluster_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 96 + (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

fn pod_ip(i: usize, j: usize) -> Ipv4Addr {
    let n = i * 16 + j;
    Ipv4Addr::new(10, 244 + (n >> 16) as u8, (n >> 8) as u8, n as u8)
}

fn node_port(i: usize) -> Option<u16> {
    (i % 2 == 0).then(|| 30000 + (i / 2) as u16 % 2768)
}

fn emit(payload: IpvsMessage, flags: u16, seq: u32, out: &mut Vec<u8>) {
    let mut genl = GenlMessage::from_payload(payload);
    genl.set_resolved_family_id(FAMILY);
    let mut msg = NetlinkMessage::from(genl);
    msg.header.flags = flags;
    msg.header.sequence_number = seq;
    msg.finalize();
    let start = out.len();
    out.resize(start + msg.buffer_len(), 0);
    msg.serialize(&mut out[start..]);
}

fn done(seq: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&20u32.to_ne_bytes());
    out.extend_from_slice(&3u16.to_ne_bytes());
    out.extend_from_slice(&NLM_F_MULTIPART.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&0i32.to_ne_bytes());
}

fn v4(a: Ipv4Addr) -> [u8; 16] {
    let mut raw = [0u8; 16];
    raw[..4].copy_from_slice(&a.octets());
    raw
}

/// services.nl and dests.nl for the table kube-proxy would have programmed.
fn ipvs_dumps(services: usize, per: usize) -> (Vec<u8>, Vec<u8>) {
    let mut svc_out = Vec::new();
    let mut dst_out = Vec::new();
    let mut seq = 1;
    for i in 0..services {
        let mut vaddrs = vec![(cluster_ip(i), 80)];
        if let Some(np) = node_port(i) {
            vaddrs.extend(NODE_ADDRS.iter().map(|a| (*a, np)));
        }
        for (addr, port) in vaddrs {
            let attrs = vec![
                ServiceAttr::Af(AF_INET),
                ServiceAttr::Protocol(IPPROTO_TCP),
                ServiceAttr::Addr(v4(addr)),
                ServiceAttr::Port(port),
                ServiceAttr::SchedName("rr".into()),
                ServiceAttr::Flags(IpvsFlags {
                    flags: IP_VS_SVC_F_HASHED,
                    mask: u32::MAX,
                }),
                ServiceAttr::Timeout(0),
                ServiceAttr::Netmask(u32::MAX),
            ];
            emit(
                IpvsMessage {
                    cmd: IpvsCommand::NewService,
                    attrs: vec![IpvsAttr::Service(attrs.clone())],
                },
                NLM_F_MULTIPART,
                1,
                &mut svc_out,
            );
            seq += 1;
            emit(
                get_dests(&attrs),
                NLM_F_REQUEST | NLM_F_DUMP,
                seq,
                &mut dst_out,
            );
            // 1% of the services have lost one real server.
            let reals = if i % 100 == 7 { per - 1 } else { per };
            for j in 0..reals {
                emit(
                    IpvsMessage {
                        cmd: IpvsCommand::NewDest,
                        attrs: vec![IpvsAttr::Dest(vec![
                            DestAttr::Addr(v4(pod_ip(i, j))),
                            DestAttr::Port(8080),
                            DestAttr::FwdMethod(0),
                            DestAttr::Weight(1),
                            DestAttr::UThresh(0),
                            DestAttr::LThresh(0),
                            DestAttr::ActiveConns(0),
                            DestAttr::InactConns(0),
                            DestAttr::PersistConns(0),
                            DestAttr::AddrFamily(AF_INET),
                        ])],
                    },
                    NLM_F_MULTIPART,
                    seq,
                    &mut dst_out,
                );
            }
            done(seq, &mut dst_out);
        }
    }
    done(1, &mut svc_out);
    (svc_out, dst_out)
}

/// `kubectl get services -A -o yaml` and `kubectl get endpointslices -A -o yaml`.
fn k8s_yaml(services: usize, per: usize) -> (String, String) {
    let mut s = String::from("apiVersion: v1\nitems:\n");
    let mut e = String::from("apiVersion: v1\nitems:\n");
    for i in 0..services {
        let name = format!("svc-{i:05}");
        let ip = cluster_ip(i);
        let (type_, np) = match node_port(i) {
            Some(p) => ("NodePort", format!("      nodePort: {p}\n")),
            None => ("ClusterIP", String::new()),
        };
        let _ = write!(
            s,
            "- apiVersion: v1\n  kind: Service\n  metadata:\n    creationTimestamp: \"2026-11-20T08:00:00Z\"\n    labels:\n      app: {name}\n    name: {name}\n    namespace: bench\n    resourceVersion: \"{rv}\"\n    uid: 00000000-0000-4000-8000-{i:012}\n  spec:\n    clusterIP: {ip}\n    clusterIPs:\n    - {ip}\n    externalTrafficPolicy: Cluster\n    internalTrafficPolicy: Cluster\n    ipFamilies:\n    - IPv4\n    ipFamilyPolicy: SingleStack\n    ports:\n    - name: http\n{np}      port: 80\n      protocol: TCP\n      targetPort: 8080\n    selector:\n      app: {name}\n    sessionAffinity: None\n    type: {type_}\n  status:\n    loadBalancer: {{}}\n",
            rv = 1000 + i
        );
        let _ = write!(
            e,
            "- addressType: IPv4\n  apiVersion: discovery.k8s.io/v1\n  endpoints:\n"
        );
        for j in 0..per {
            let _ = write!(
                e,
                "  - addresses:\n    - {}\n    conditions:\n      ready: true\n      serving: true\n      terminating: false\n    nodeName: node{}\n    targetRef:\n      kind: Pod\n      name: {name}-{j}\n      namespace: bench\n      uid: 10000000-0000-4000-8000-{:012}\n",
                pod_ip(i, j),
                1 + j % 2,
                i * per + j
            );
        }
        let _ = write!(
            e,
            "  kind: EndpointSlice\n  metadata:\n    generateName: {name}-\n    labels:\n      endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io\n      kubernetes.io/service-name: {name}\n    name: {name}-abcde\n    namespace: bench\n  ports:\n  - name: http\n    port: 8080\n    protocol: TCP\n"
        );
    }
    s.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    e.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    (s, e)
}

const NODES: &str = "apiVersion: v1
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: node1
  status:
    addresses:
    - address: 192.168.122.96
      type: InternalIP
- apiVersion: v1
  kind: Node
  metadata:
    name: node2
  status:
    addresses:
    - address: 192.168.122.97
      type: InternalIP
kind: List
metadata:
  resourceVersion: \"\"
";

const KUBE_PROXY_CM: &str = "apiVersion: v1
data:
  config.conf: |-
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
    mode: ipvs
kind: ConfigMap
metadata:
  name: kube-proxy
  namespace: kube-system
";

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let dst = to.join(e.path().strip_prefix(from).expect("prefix"));
        if e.file_type().is_dir() {
            fs::create_dir_all(&dst).expect("mkdir");
        } else {
            fs::copy(e.path(), &dst).expect("copy");
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let services = args.first().copied().unwrap_or(5000);
    let per = args.get(1).copied().unwrap_or(10);
    let rounds = args.get(2).copied().unwrap_or(5);
    // `json`: the lists as `kubectl get -o json` prints them instead of YAML.
    let as_json = std::env::args().any(|a| a == "json");
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("bundle");
    let base =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/vm-lab/2-ipvs-services/bundle");
    copy_tree(&base, &root);
    let (svc_nl, dst_nl) = ipvs_dumps(services, per);
    fs::write(root.join("netlink/ipvs/services.nl"), &svc_nl).expect("write");
    fs::write(root.join("netlink/ipvs/dests.nl"), &dst_nl).expect("write");
    let (svcs, slices) = k8s_yaml(services, per);
    let (svcs, slices, ext) = if as_json {
        let conv = |y: &str| {
            let v: serde_json::Value = yaml_serde::from_str(y).expect("yaml");
            serde_json::to_string_pretty(&v).expect("json")
        };
        (conv(&svcs), conv(&slices), "json")
    } else {
        (svcs, slices, "yaml")
    };
    fs::create_dir_all(root.join("k8s")).expect("mkdir");
    fs::write(root.join(format!("k8s/services.{ext}")), &svcs).expect("write");
    fs::write(
        root.join(format!("k8s/endpointslices.discovery.k8s.io.{ext}")),
        &slices,
    )
    .expect("write");
    fs::write(root.join("k8s/nodes.yaml"), NODES).expect("write");
    fs::write(
        root.join("k8s/configmap-kube-system-kube-proxy.yaml"),
        KUBE_PROXY_CM,
    )
    .expect("write");
    println!(
        "input: {services} Services ({} NodePorts), {} endpoints; {} {:.1} MB; IPVS dumps {:.1} MB",
        services.div_ceil(2),
        services * per,
        ext.to_uppercase(),
        (svcs.len() + slices.len()) as f64 / 1e6,
        (svc_nl.len() + dst_nl.len()) as f64 / 1e6
    );
    let (mut load, mut analysis, mut json, mut text) = (vec![], vec![], vec![], vec![]);
    let mut last = None;
    for _ in 0..rounds {
        let t = Instant::now();
        let bundle = Bundle::open(&root).expect("bundle");
        load.push(t.elapsed());
        let t = Instant::now();
        let r = analyze(&[("bench".to_string(), &bundle)]);
        analysis.push(t.elapsed());
        let t = Instant::now();
        let mut out = Vec::new();
        report::render(&r, Format::Json, TextOptions::default(), &mut out).expect("json");
        json.push(t.elapsed());
        let t = Instant::now();
        let mut out2 = Vec::new();
        report::render(&r, Format::Text, TextOptions::default(), &mut out2).expect("text");
        text.push(t.elapsed());
        last = Some((r, out.len()));
    }
    let (r, json_len) = last.expect("a round");
    // Where the analysis time goes: the two decoding stages alone.
    let bundle = Bundle::open(&root).expect("bundle");
    let t = Instant::now();
    let cluster = netsnap::diagnose::facts::ClusterFacts::from_bundles([&bundle]);
    let t_cluster = t.elapsed();
    let t = Instant::now();
    let node = netsnap::diagnose::facts::NodeFacts::from_bundle(&bundle, "bench");
    let t_node = t.elapsed();
    let t = Instant::now();
    let cx = netsnap::diagnose::context(&node, &cluster);
    let t_cx = t.elapsed();
    let mut slow = Vec::new();
    for check in netsnap::diagnose::checks::all() {
        let t = Instant::now();
        let verdicts = std::hint::black_box((check.run)(&cx));
        slow.push((t.elapsed(), check.info.id));
        drop(verdicts);
    }
    let all_checks: Duration = slow.iter().map(|(d, _)| *d).sum();
    slow.sort();
    slow.reverse();
    println!(
        "  (context and IPVS expectation {:.1} ms; {} checks {:.1} ms, slowest: {})",
        t_cx.as_secs_f64() * 1e3,
        slow.len(),
        all_checks.as_secs_f64() * 1e3,
        slow.iter()
            .take(5)
            .map(|(d, id)| format!("{id} {:.1} ms", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  (decode Kubernetes YAML {:.1} ms: {} Services, {} slices; decode node evidence {:.1} ms: {} virtual servers)",
        t_cluster.as_secs_f64() * 1e3,
        cluster.state.services.len(),
        cluster.state.endpoint_slices.len(),
        t_node.as_secs_f64() * 1e3,
        node.ipvs.as_ref().map_or(0, |t| t.services.len())
    );
    let total: Duration = median(load.clone()) + median(analysis.clone()) + median(json.clone());
    println!(
        "findings: {} ({} errors), JSON {:.1} KB",
        r.findings.len(),
        r.counts.error,
        json_len as f64 / 1e3
    );
    println!("median of {rounds} rounds:");
    println!(
        "  load bundle      {:>8.1} ms",
        median(load).as_secs_f64() * 1e3
    );
    println!(
        "  analyze          {:>8.1} ms  (decode YAML and dumps, expectation, diff, checks)",
        median(analysis).as_secs_f64() * 1e3
    );
    println!(
        "  render JSON      {:>8.1} ms",
        median(json).as_secs_f64() * 1e3
    );
    println!(
        "  render text      {:>8.1} ms",
        median(text).as_secs_f64() * 1e3
    );
    println!("  load+analyze+JSON {:>7.1} ms", total.as_secs_f64() * 1e3);
}
