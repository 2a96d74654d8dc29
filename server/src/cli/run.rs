//! Running the command line: the language server, or `--check` with its progress bar and
//! report.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;

use super::args::{Cli, ColorChoice};
use super::settings::{check_settings, load_config, lsp_options, CheckSettings};
use crate::check::run_check;
use crate::engine::Engine;
use crate::report::github::AnnotationRoots;
use crate::report::reference::ReferenceStats;
use crate::report::{render, Format, RenderOptions};

/// Exit code when a file could not be read, or on a usage or configuration error.
pub const EXIT_ERROR: u8 = 2;

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

/// Runs the command line; returns the exit code.
pub fn run(cli: &Cli) -> anyhow::Result<u8> {
    if !cli.check {
        if !cli.paths.is_empty() {
            bail!("to check files, pass --check: coral-lsp --check PATH...");
        }
        crate::lsp::run_stdio(lsp_options(cli)?)?;
        return Ok(0);
    }

    let cwd = std::env::current_dir().context("reading the current directory")?;
    let file = load_config(cli, &cwd)?;
    let CheckSettings {
        settings,
        format,
        options,
    } = check_settings(cli, file.as_ref(), &cwd)?;

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
    let report = run_check(&engine, &options, |done, total| {
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
    let options = RenderOptions {
        color: format == Format::Text && use_color(cli.color),
        roots: AnnotationRoots::from_env(&cwd),
        reference: (format == Format::Html)
            .then(|| ReferenceStats::for_engine(&engine, &settings.engine))
            .flatten(),
    };
    let text = render(&report, format, &options);
    crate::output::write_report(&text).context("writing the report")?;
    Ok(report.exit_code())
}
