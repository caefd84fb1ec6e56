//! `netsnap`: reads bundles written by `netsnap-collect`, shows their evidence, and diagnoses
//! why Services are unreachable.
//!
//! Exit status: `show`: 0 when the view was written (or the reader went away: a broken pipe is
//! not a failure), 2 when the input could not be read. `analyze`: 0 when no error-level finding
//! was made, 1 when one was, 2 when the input could not be analyzed.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use netsnap::diagnose;
use netsnap::report::{self, Format, TextOptions};
use netsnap::show::{self, View};
use netsnap::{Bundle, Error};

// Decoding a large cluster's YAML makes millions of small strings and maps on every core;
// glibc's allocator spent a third of `analyze` on them (5,000 Services: 1.44 s with it, 0.97 s
// with mimalloc, `cargo bench -p netsnap --bench analyze_scale`, which uses the same allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Diagnose: root causes in fix order, with evidence, confidence and fix steps.
    Analyze {
        /// Bundles (.tar.gz, .tar or unpacked directories). Kubernetes objects from all of
        /// them form one cluster view; each bundle is one node.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
        /// Colour in the text report.
        #[arg(long, value_enum, default_value_t = ColourArg::Auto)]
        color: ColourArg,
        /// Also write the fix script (as `netsnap fix` does) to this file.
        #[arg(long, value_name = "FILE")]
        fix_script: Option<PathBuf>,
    },
    /// Write a bash script that fixes what `analyze` finds: a dry run unless run with
    /// `--apply`, every step guarded by the condition it fixes, with `--rollback`.
    Fix {
        /// Bundles, as for `analyze`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write the script here (mode 0755) instead of to standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Turn a folder (or tar) of pasted text into a bundle: the files as they were under
    /// `pasted/`, what they were read as at the collector's paths, the manifest saying which
    /// lines of which file each artifact came from.
    Import {
        /// The folder of pasted files (or a tar of it).
        input: PathBuf,
        /// The bundle to write (.tar.gz).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColourArg {
    Auto,
    Always,
    Never,
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

fn analyze(paths: &[PathBuf]) -> anyhow::Result<diagnose::Report> {
    let mut bundles = Vec::new();
    for p in paths {
        let b = Bundle::open(p).with_context(|| format!("cannot load bundle {}", p.display()))?;
        bundles.push((p.display().to_string(), b));
    }
    let inputs: Vec<(String, &Bundle)> = bundles.iter().map(|(p, b)| (p.clone(), b)).collect();
    Ok(diagnose::analyze(&inputs))
}

/// The fix script, written whole to a temporary file beside `path` and then renamed, so a
/// failed write never leaves half a script to run.
fn write_script(report: &diagnose::Report, path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut text = Vec::new();
    report::script::render(report, &mut text).map_err(|source| Error::Output { source })?;
    let tmp = path.with_extension("netsnap-partial");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Errors) => ExitCode::from(1),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("netsnap: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// How a successful run ends.
enum Outcome {
    Clean,
    /// `analyze` made error-level findings.
    Errors,
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Analyze {
            paths,
            format,
            color,
            fix_script,
        } => {
            let result = analyze(&paths)?;
            if let Some(path) = fix_script {
                write_script(&result, &path)?;
            }
            let stdout = io::stdout();
            let colour = match color {
                ColourArg::Always => true,
                ColourArg::Never => false,
                ColourArg::Auto => stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let format = match format {
                FormatArg::Text => Format::Text,
                FormatArg::Markdown => Format::Markdown,
                FormatArg::Json => Format::Json,
            };
            let opts = TextOptions {
                colour,
                ..TextOptions::default()
            };
            let mut out = io::BufWriter::new(stdout.lock());
            report::render(&result, format, opts, &mut out)?;
            out.flush().map_err(|source| Error::Output { source })?;
            Ok(if result.has_errors() {
                Outcome::Errors
            } else {
                Outcome::Clean
            })
        }
        Command::Fix { paths, output } => {
            let result = analyze(&paths)?;
            match output {
                Some(path) => write_script(&result, &path)?,
                None => {
                    let mut out = io::BufWriter::new(io::stdout().lock());
                    report::script::render(&result, &mut out)
                        .and_then(|()| out.flush())
                        .map_err(|source| Error::Output { source })?;
                }
            }
            Ok(Outcome::Clean)
        }
        Command::Import { input, output } => {
            let bundle =
                Bundle::open(&input).with_context(|| format!("cannot load {}", input.display()))?;
            if !bundle.is_pasted() {
                anyhow::bail!(
                    "{} is already a bundle (its manifest is by {}); nothing to import",
                    input.display(),
                    bundle.manifest().collector.name
                );
            }
            let tmp = output.with_extension("netsnap-partial");
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            bundle
                .write_tar_gz(io::BufWriter::new(file))
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            let read = bundle
                .pasted()
                .iter()
                .flat_map(|f| f.pieces())
                .filter(|p| netsnap::load::pasted::is_read(p))
                .count();
            eprintln!(
                "netsnap: wrote {} ({} file(s), {read} piece(s) read)",
                output.display(),
                bundle.pasted().len()
            );
            Ok(Outcome::Clean)
        }
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
            Ok(Outcome::Clean)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
