//! `netsnap`: reads a bundle written by `netsnap-collect` and shows or (later) analyzes it.
//!
//! Exit status: 0 when the view was written (or the reader went away: a broken pipe is not a
//! failure), 2 when the input could not be read.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use netsnap::show::{self, View};
use netsnap::{Bundle, Error};

#[derive(Parser)]
#[command(
    name = "netsnap",
    version,
    about = "Offline views and diagnosis of netsnap bundles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show one view of a bundle's evidence, as the node's own tools would have printed it.
    Show {
        view: ViewArg,
        /// A bundle: .tar.gz, .tar, or an unpacked directory.
        bundle: PathBuf,
        /// JSON with iproute2's field names (links, addrs, routes, rules, neigh).
        #[arg(long)]
        json: bool,
        /// With `ipvs`: the `ipvsadm -Ln --stats` form.
        #[arg(long)]
        stats: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ViewArg {
    Links,
    Addrs,
    Routes,
    Rules,
    Neigh,
    Modules,
    Sysctls,
    Manifest,
    Overview,
    Ipvs,
}

impl From<ViewArg> for View {
    fn from(v: ViewArg) -> View {
        match v {
            ViewArg::Links => View::Links,
            ViewArg::Addrs => View::Addrs,
            ViewArg::Routes => View::Routes,
            ViewArg::Rules => View::Rules,
            ViewArg::Neigh => View::Neigh,
            ViewArg::Modules => View::Modules,
            ViewArg::Sysctls => View::Sysctls,
            ViewArg::Manifest => View::Manifest,
            ViewArg::Overview => View::Overview,
            ViewArg::Ipvs => View::Ipvs,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("netsnap: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Show {
            view,
            bundle,
            json,
            stats,
        } => {
            let view = match (View::from(view), stats) {
                (View::Ipvs, true) => View::IpvsStats,
                (view, false) => view,
                (_, true) => anyhow::bail!("--stats applies to the ipvs view only"),
            };
            let loaded = Bundle::open(&bundle)
                .with_context(|| format!("cannot load bundle {}", bundle.display()))?;
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            let notes = show::render(&loaded, view, json, &mut out)?;
            out.flush().map_err(|source| Error::Output { source })?;
            for note in notes {
                eprintln!("netsnap: note: {note}");
            }
            Ok(())
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
