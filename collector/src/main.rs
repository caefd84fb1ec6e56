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
mod spool;
mod sys;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;

use collect::{Config, Output, Selection};

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
    /// Run only these probes (comma-separated); the others are recorded as skipped. `ipvs`
    /// includes `genl`, whose family dump gives the IPVS family id.
    #[arg(long, value_name = "PROBE[,PROBE...]", value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(collect::PROBES))]
    only: Option<Vec<String>>,
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
        only: args
            .only
            .as_deref()
            .and_then(Selection::only)
            .unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Config, clap::Error> {
        let argv = std::iter::once("netsnap-collect").chain(argv.iter().copied());
        Args::try_parse_from(argv).map(|a| config(a, SystemTime::now()))
    }

    #[test]
    fn only_takes_a_list_and_ipvs_brings_genl() {
        let c = parse(&["--output-dir", "x", "--only", "ipvs"]).expect("parse");
        assert_eq!(c.only.names(), Some(&["genl", "ipvs"][..]));
        let c = parse(&[
            "--output-dir",
            "x",
            "--only",
            "kmsg,procfs",
            "--only",
            "files",
        ])
        .expect("parse");
        assert_eq!(c.only.names(), Some(&["procfs", "files", "kmsg"][..]));
        assert!(c.only.runs("kmsg") && !c.only.runs("ipvs"));
        let c = parse(&["--output-dir", "x"]).expect("parse");
        assert_eq!(c.only.names(), None);
        assert!(collect::PROBES.iter().all(|p| c.only.runs(p)));
        assert!(parse(&["--output-dir", "x", "--only", "ipvs,nope"]).is_err());
        assert!(parse(&["--output-dir", "x", "--only", ""]).is_err());
    }
}
