//! The command line (the binary edge: `anyhow` errors with context, exit codes).
//!
//! `coral-lsp --check PATH...` checks notebooks headless; `coral-lsp` with no arguments will
//! serve LSP over stdio.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use coral_core::metrics::FindingsConfig;
use coral_core::{Rule, Stage};

use crate::check::config::{find_config, read_config, LoadedConfig};
use crate::check::{repository_root, run_check, CheckOptions, RuleFilter};
use crate::engine::{Device, Engine, EngineConfig};
use crate::report::{render, Format, RenderOptions};

/// Exit code when a file could not be read, or on a usage or configuration error.
pub const EXIT_ERROR: u8 = 2;

/// When to colour the text report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// coral labels every code cell of a Jupyter notebook with its data-analysis stage (IMPORT,
/// WRANGLE, EXPLORE, MODEL, EVALUATE) and reports what the stages say about the pipeline.
///
/// Without arguments it serves the Language Server Protocol over stdio; with --check it checks
/// files and folders and exits 0 (clean), 1 (findings) or 2 (a file could not be read).
#[derive(Debug, Parser)]
#[command(name = "coral-lsp", version, about, long_about)]
#[allow(clippy::struct_excessive_bools)] // command-line switches
pub struct Cli {
    /// Check notebooks headless and print a report (instead of serving LSP).
    #[arg(long)]
    pub check: bool,

    /// Files and folders to check: .ipynb files and `# %%` percent scripts (.py), folders
    /// recursively (hidden folders skipped). Default: the current folder.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Report format: text, json, sarif or github.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Normalized stage entropy (0..1) below which a notebook gets CRL001 low-entropy.
    #[arg(long, value_name = "H")]
    pub min_entropy: Option<f64>,

    /// A stage every notebook must have (CRL006 missing-stage); repeatable.
    #[arg(long = "require-stage", value_name = "STAGE")]
    pub require_stage: Vec<Stage>,

    /// Report only these rules (code such as CRL002 or name such as model-without-evaluate);
    /// repeatable or comma-separated.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub select: Vec<Rule>,

    /// Never report these rules (code or name); repeatable or comma-separated.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub ignore: Vec<Rule>,

    /// A seed table (TOML, same layout as the built-in one) extending the heuristics.
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,

    /// Model directory holding coral.onnx and vocab.json (default: `$CORAL_MODEL_DIR` when set,
    /// else models/ beside the executable, then the project's models/). Given explicitly, a model
    /// that cannot be used is an error (exit 2) instead of a fallback to the heuristics.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Label with the heuristics only; do not look for a model.
    #[arg(long, conflicts_with_all = ["model", "device"])]
    pub no_model: bool,

    /// Where the model runs: auto (CUDA when available), cpu or cuda. Given explicitly, a
    /// model that cannot be used is an error (exit 2).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<Device>,

    /// Threads for featurizing and for ONNX Runtime (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// ONNX Runtime sessions that run batches side by side, sharing the threads (default: one
    /// per thread, at most 4). One-thread sessions avoid ONNX Runtime's per-operator thread
    /// synchronisation: on two cores, two of them label a folder ~25 % faster than one
    /// two-thread session.
    #[arg(long, value_name = "N")]
    pub sessions: Option<usize>,

    /// Cells per model run.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,

    /// Read settings from this file (coral.toml layout, or a pyproject.toml's [tool.coral])
    /// instead of looking for coral.toml / pyproject.toml from the current folder upwards.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore configuration files.
    #[arg(long)]
    pub no_config: bool,

    /// Colour the text report.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,

    /// No progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Log filter for stderr (error, warn, info, debug, trace, or a tracing filter); default
    /// from `CORAL_LOG`, then `RUST_LOG`, else warn.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The language server installs its own subscriber (log file, level from the client's
    // settings); one installed here first would keep the engine's threads on stderr.
    if cli.check {
        crate::logging::init_cli(cli.log_level.as_deref());
    }
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::error!("{e:#}");
            // Also plainly, in case logging is filtered off.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("coral-lsp: error: {e:#}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn parse_all<T: std::str::FromStr>(values: &[String], what: &str) -> anyhow::Result<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    values
        .iter()
        .map(|v| v.parse::<T>().map_err(|e| anyhow::anyhow!("{what}: {e}")))
        .collect()
}

/// Settings after merging the configuration file and the flags (flags win).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Threads for featurizing (and, shared out between the sessions, for ONNX Runtime).
    pub threads: Option<usize>,
    pub format: Format,
    pub options: CheckOptions,
    pub engine: EngineConfig,
    /// A model or device was asked for explicitly: failing to load the model is an error.
    pub strict_model: bool,
}

/// Merges `cli` over `file` (found from `cwd`).
pub fn settings(cli: &Cli, file: Option<&LoadedConfig>, cwd: &Path) -> anyhow::Result<Settings> {
    let empty = crate::check::config::FileConfig::default();
    let config = file.map_or(&empty, |f| &f.config);
    let origin = file.map_or_else(String::new, |f| format!("{}: ", f.path.display()));
    let resolve = |p: &PathBuf| file.map_or_else(|| p.clone(), |f| f.resolve(p));

    let format = match (cli.format, &config.format) {
        (Some(f), _) => f,
        (None, Some(f)) => f.parse().with_context(|| format!("{origin}format"))?,
        (None, None) => Format::Text,
    };
    let mut findings = FindingsConfig::default();
    if let Some(h) = cli.min_entropy.or(config.min_entropy) {
        if !(0.0..=1.0).contains(&h) {
            bail!("min-entropy {h} is outside 0..1 (it is the normalized stage entropy)");
        }
        findings.min_normalized_entropy = h;
    }
    findings.required_stages = if cli.require_stage.is_empty() {
        parse_all(
            config.require_stages.as_deref().unwrap_or_default(),
            &format!("{origin}require-stages"),
        )?
    } else {
        cli.require_stage.clone()
    };
    let select = if cli.select.is_empty() {
        parse_all(
            config.select.as_deref().unwrap_or_default(),
            &format!("{origin}select"),
        )?
    } else {
        cli.select.clone()
    };
    let ignore = if cli.ignore.is_empty() {
        parse_all(
            config.ignore.as_deref().unwrap_or_default(),
            &format!("{origin}ignore"),
        )?
    } else {
        cli.ignore.clone()
    };
    let device = match (cli.device, &config.device) {
        (Some(d), _) => d,
        (None, Some(d)) => d.parse().with_context(|| format!("{origin}device"))?,
        (None, None) => Device::Auto,
    };
    let model_dir = cli
        .model
        .clone()
        .or_else(|| config.model.as_ref().map(resolve));
    let strict_model = !cli.no_model
        && (cli.model.is_some()
            || cli.device.is_some()
            || config.model.is_some()
            || config.device.is_some());
    let defaults = EngineConfig::default();
    let threads = cli.threads.or(config.threads).filter(|&t| t > 0);
    let (sessions, session_threads) = share_threads(threads, cli.sessions.or(config.sessions));
    let engine = EngineConfig {
        model_dir,
        device,
        threads: session_threads,
        sessions,
        seeds: cli
            .seeds
            .clone()
            .or_else(|| config.seeds.as_ref().map(resolve)),
        batch_size: cli
            .batch_size
            .or(config.batch_size)
            .unwrap_or(defaults.batch_size)
            .max(1),
        use_model: !cli.no_model,
        findings: findings.clone(),
        ..defaults
    };
    let paths = if cli.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        cli.paths.clone()
    };
    Ok(Settings {
        threads,
        format,
        options: CheckOptions {
            paths,
            findings,
            rules: RuleFilter { select, ignore },
            cwd: cwd.to_path_buf(),
            root: repository_root(cwd),
        },
        engine,
        strict_model,
    })
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// How `--check` shares `threads` (`None`: all cores) between ONNX Runtime sessions: returns
/// the number of sessions and each one's intra-op threads. `sessions` defaults to one per
/// thread, at most 4 (each holds its own copy of the model and its activations).
pub fn share_threads(threads: Option<usize>, sessions: Option<usize>) -> (usize, Option<usize>) {
    let total = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let sessions = sessions.unwrap_or_else(|| total.clamp(1, 4)).max(1);
    if sessions > 1 {
        (sessions, Some((total / sessions).max(1)))
    } else {
        (sessions, threads)
    }
}

/// Runs the command line; returns the exit code.
pub fn run(cli: &Cli) -> anyhow::Result<u8> {
    if !cli.check {
        if !cli.paths.is_empty() {
            bail!("to check files, pass --check: coral-lsp --check PATH...");
        }
        crate::lsp::run_stdio(crate::lsp::LspOptions::from_cli(cli))?;
        return Ok(0);
    }

    let cwd = std::env::current_dir().context("reading the current directory")?;
    let file = if cli.no_config {
        None
    } else if let Some(path) = &cli.config {
        let found = read_config(path).context("reading the configuration")?;
        if found.is_none() {
            tracing::warn!("{} has no [tool.coral] table", path.display());
        }
        found
    } else {
        find_config(&cwd).context("reading the configuration")?
    };
    if let Some(file) = &file {
        tracing::info!("configuration from {}", file.path.display());
    }
    let settings = settings(cli, file.as_ref(), &cwd)?;

    if let Some(threads) = settings.threads {
        // Only the first global pool wins; a second call (tests) is harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let engine = if settings.strict_model {
        Engine::try_load(&settings.engine).context("loading the model")?
    } else {
        if let Some(seeds) = &settings.engine.seeds {
            // A seed file that cannot be read is a configuration error, not a fallback.
            crate::engine::load_seeds(Some(seeds)).context("reading the seed table")?;
        }
        Engine::load(&settings.engine)
    };

    let progress = if !cli.no_progress && std::io::stderr().is_terminal() {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} checking {pos}/{len} notebooks {wide_bar} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let report = run_check(&engine, &settings.options, |done, total| {
        if let Some(bar) = &progress {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if report.files.is_empty() && report.errors.is_empty() {
        tracing::warn!("no notebooks found (.ipynb files or `# %%` percent scripts)");
    }
    let text = render(
        &report,
        settings.format,
        RenderOptions {
            color: settings.format == Format::Text && use_color(cli.color),
        },
    );
    crate::output::write_report(&text).context("writing the report")?;
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("coral-lsp").chain(args.iter().copied()))
            .expect("valid arguments")
    }

    #[test]
    fn flags_override_the_file() {
        let file = LoadedConfig {
            path: PathBuf::from("/proj/pyproject.toml"),
            config: crate::check::config::FileConfig {
                min_entropy: Some(0.2),
                require_stages: Some(vec!["model".into()]),
                ignore: Some(vec!["scattered-imports".into()]),
                seeds: Some(PathBuf::from("seeds.toml")),
                format: Some("json".into()),
                ..Default::default()
            },
        };
        let cwd = Path::new("/proj");
        let s = settings(&parse(&["--check"]), Some(&file), cwd).expect("valid");
        assert_eq!(s.format, Format::Json);
        assert!((s.options.findings.min_normalized_entropy - 0.2).abs() < 1e-12);
        assert_eq!(s.options.findings.required_stages, [Stage::Model]);
        assert_eq!(s.options.rules.ignore, [Rule::ScatteredImports]);
        assert_eq!(s.engine.seeds, Some(PathBuf::from("/proj/seeds.toml")));
        assert!(!s.strict_model);

        let s = settings(
            &parse(&[
                "--check",
                "--format=sarif",
                "--min-entropy=0.5",
                "--require-stage=EVALUATE",
                "--require-stage=import",
                "--ignore=CRL001,CRL002",
                "--device=cpu",
                "nb",
            ]),
            Some(&file),
            cwd,
        )
        .expect("valid");
        assert_eq!(s.format, Format::Sarif);
        assert!((s.options.findings.min_normalized_entropy - 0.5).abs() < 1e-12);
        assert_eq!(
            s.options.findings.required_stages,
            [Stage::Evaluate, Stage::Import]
        );
        assert_eq!(
            s.options.rules.ignore,
            [Rule::LowEntropy, Rule::ModelWithoutEvaluate]
        );
        assert!(s.strict_model);
        assert_eq!(s.options.paths, [PathBuf::from("nb")]);
    }

    #[test]
    fn sessions_share_the_threads() {
        // (flags, config file's threads and sessions) -> (threads, threads per session, sessions)
        let check = |args: &[&str], file: Option<(usize, usize)>, expect| {
            let file = file.map(|(threads, sessions)| LoadedConfig {
                path: PathBuf::from("/proj/coral.toml"),
                config: crate::check::config::FileConfig {
                    threads: Some(threads),
                    sessions: Some(sessions),
                    ..Default::default()
                },
            });
            let s = settings(&parse(args), file.as_ref(), Path::new("/proj")).expect("valid");
            assert_eq!(
                (s.threads, s.engine.threads, s.engine.sessions),
                expect,
                "{args:?}"
            );
        };
        check(&["--check", "--threads=4"], None, (Some(4), Some(1), 4));
        check(&["--check", "--threads=12"], None, (Some(12), Some(3), 4));
        let one = ["--check", "--threads=4", "--sessions=1"];
        check(&one, None, (Some(4), Some(4), 1));
        let two = ["--check", "--threads=4", "--sessions=2"];
        check(&two, None, (Some(4), Some(2), 2));
        // Never fewer than one thread per session.
        check(&["--check"], Some((2, 3)), (Some(2), Some(1), 3));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Cli::try_parse_from(["coral-lsp", "--check", "--select=CRL999"]).is_err());
        assert!(Cli::try_parse_from(["coral-lsp", "--check", "--format=xml"]).is_err());
        assert!(Cli::try_parse_from(["coral-lsp", "--no-model", "--device=cpu"]).is_err());
        let s = settings(
            &parse(&["--check", "--min-entropy=3"]),
            None,
            Path::new("/"),
        );
        assert!(s.is_err());
    }
}
