//! `netsnap-collect`: snapshots a node's Service dataplane (IPVS, links, routes, rules,
//! modules, sysctls, configuration files, optional tools, Kubernetes objects) into one
//! deterministic bundle, read-only. This file only parses the command line; the run is in
//! `collect`.

mod archive;
mod clock;
mod collect;
mod host;
mod msg;
mod netlink;
mod probe;
mod sys;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;

use collect::{Config, Output};

/// Snapshot this node's Kubernetes Service dataplane into a netsnap bundle (read-only).
///
/// Exits 0 whenever a bundle was written; what could not be collected, and why, is recorded
/// in its manifest.json.
#[derive(Debug, Parser)]
#[command(name = "netsnap-collect", version)]
struct Args {
    /// Write the bundle to FILE (.tar.gz) [default: ./netsnap-<hostname>-<UTC time>.tar.gz]
    #[arg(short, long, value_name = "FILE", conflicts_with = "output_dir")]
    output: Option<PathBuf>,
    /// Write the bundle unpacked into DIR (absent or empty) instead of a tarball.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Stop collecting after SECS seconds and write what was collected.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    deadline: u64,
    /// Kubeconfig for kubectl [default: $KUBECONFIG, ~/.kube/config, /etc/kubernetes/admin.conf,
    /// /etc/kubernetes/kubelet.conf].
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Do not run kubectl.
    #[arg(long)]
    no_kubectl: bool,
    /// The kubectl program to run.
    #[arg(long, value_name = "PATH", default_value = "kubectl")]
    kubectl: String,
    /// No progress lines on stderr.
    #[arg(short, long)]
    quiet: bool,
}

fn config(args: Args, started: SystemTime) -> Config {
    let output = match (args.output, args.output_dir) {
        (_, Some(dir)) => Output::Dir(dir),
        (Some(file), None) => Output::TarGz(file),
        (None, None) => {
            let host = sys::uname().map(|u| u.nodename).unwrap_or_default();
            Output::TarGz(PathBuf::from(format!(
                "{}.tar.gz",
                collect::bundle_name(&host, started)
            )))
        }
    };
    Config {
        output,
        deadline: Duration::from_secs(args.deadline),
        kubectl: (!args.no_kubectl).then_some(args.kubectl),
        kubeconfig: args.kubeconfig,
        quiet: args.quiet,
    }
}

fn main() -> ExitCode {
    let started = SystemTime::now();
    let config = config(Args::parse(), started);
    match collect::run(&config, started) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netsnap-collect: no bundle written: {e:#}");
            ExitCode::from(1)
        }
    }
}
