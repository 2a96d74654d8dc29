//! The command line as a settings [`Layer`], stacked over the configuration file by
//! [`crate::settings::resolve`]: into [`CheckSettings`] for `--check`, into [`LspOptions`] for
//! the language server (which adds the workspace's file and the editor's settings itself).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::args::Cli;
use crate::check::{repository_root, CheckOptions};
use crate::engine::EngineConfig;
use crate::lsp::LspOptions;
use crate::report::Format;
use crate::settings::file::{find_config, read_config, LoadedConfig};
use crate::settings::{resolve, Layer, Settings};

/// Everything `--check` runs with.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub settings: Settings,
    pub format: Format,
    pub options: CheckOptions,
}

/// What the flags say; a flag not given says nothing.
pub fn cli_layer(cli: &Cli) -> anyhow::Result<Layer> {
    if let Some(h) = cli.min_entropy {
        if !(0.0..=1.0).contains(&h) {
            bail!("min-entropy {h} is outside 0..1 (it is the normalized stage entropy)");
        }
    }
    Ok(Layer {
        model_dir: cli.model.clone(),
        use_model: cli.no_model.then_some(false),
        device: cli.device,
        threads: cli.threads.filter(|&t| t > 0),
        sessions: cli.sessions,
        batch_size: cli.batch_size,
        seeds: cli.seeds.clone(),
        min_entropy: cli.min_entropy,
        required_stages: given(&cli.require_stage),
        select: given(&cli.select),
        ignore: given(&cli.ignore),
    })
}

/// A repeatable flag given at least once.
fn given<T: Clone>(values: &[T]) -> Option<Vec<T>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// The configuration file: `--config`, else the first found from `cwd` upwards; none with
/// `--no-config`.
pub fn load_config(cli: &Cli, cwd: &Path) -> anyhow::Result<Option<LoadedConfig>> {
    let file = if cli.no_config {
        None
    } else if let Some(path) = &cli.config {
        let found = read_config(path).context("reading the configuration")?;
        if found.is_none() {
            tracing::warn!("{} has no [tool.coral] table", path.display());
        }
        found
    } else {
        find_config(cwd).context("reading the configuration")?
    };
    if let Some(file) = &file {
        tracing::info!("configuration from {}", file.path.display());
    }
    Ok(file)
}

/// Merges `cli` over `file` (found from `cwd`).
pub fn check_settings(
    cli: &Cli,
    file: Option<&LoadedConfig>,
    cwd: &Path,
) -> anyhow::Result<CheckSettings> {
    let file_layer = file
        .map(LoadedConfig::layer)
        .transpose()?
        .unwrap_or_default();
    let settings = resolve(&EngineConfig::default(), &[&file_layer, &cli_layer(cli)?]);
    let format = match (cli.format, file.and_then(|f| f.config.format.as_ref())) {
        (Some(f), _) => f,
        (None, Some(f)) => f.parse().with_context(|| {
            format!(
                "{}: format",
                file.map_or_else(String::new, |f| f.path.display().to_string())
            )
        })?,
        (None, None) => Format::Text,
    };
    let paths = if cli.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        cli.paths.clone()
    };
    let options = CheckOptions {
        paths,
        findings: settings.engine.findings.clone(),
        cwd: cwd.to_path_buf(),
        root: repository_root(cwd),
    };
    Ok(CheckSettings {
        settings,
        format,
        options,
    })
}

/// How the language server starts: the flags as the layer between the workspace's
/// configuration file and the editor's settings.
pub fn lsp_options(cli: &Cli) -> anyhow::Result<LspOptions> {
    Ok(LspOptions {
        engine: EngineConfig::default(),
        cli: cli_layer(cli)?,
        log_level: cli.log_level.clone(),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use coral_core::{Rule, Stage};

    use super::*;
    use crate::engine::Device;
    use crate::settings::file::FileConfig;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("coral-lsp").chain(args.iter().copied()))
            .expect("valid arguments")
    }

    #[test]
    fn flags_override_the_file() {
        let file = LoadedConfig {
            path: PathBuf::from("/proj/pyproject.toml"),
            config: FileConfig {
                min_entropy: Some(0.2),
                require_stages: Some(vec!["model".into()]),
                ignore: Some(vec!["scattered-imports".into()]),
                seeds: Some(PathBuf::from("seeds.toml")),
                format: Some("json".into()),
                ..Default::default()
            },
        };
        let cwd = Path::new("/proj");
        let s = check_settings(&parse(&["--check"]), Some(&file), cwd).expect("valid");
        assert_eq!(s.format, Format::Json);
        assert!((s.options.findings.min_normalized_entropy - 0.2).abs() < 1e-12);
        assert_eq!(s.options.findings.required_stages, [Stage::Model]);
        assert_eq!(s.options.findings.ignore, [Rule::ScatteredImports]);
        assert_eq!(
            s.settings.engine.seeds,
            Some(PathBuf::from("/proj/seeds.toml"))
        );
        assert!(!s.settings.strict_model);

        let s = check_settings(
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
        let findings = &s.options.findings;
        assert!((findings.min_normalized_entropy - 0.5).abs() < 1e-12);
        assert_eq!(findings.required_stages, [Stage::Evaluate, Stage::Import]);
        assert_eq!(
            findings.ignore,
            [Rule::LowEntropy, Rule::ModelWithoutEvaluate]
        );
        assert_eq!(s.settings.engine.findings, *findings, "one findings config");
        assert!(s.settings.strict_model);
        assert_eq!(s.settings.engine.device, Device::Cpu);
        assert_eq!(s.options.paths, [PathBuf::from("nb")]);
    }

    #[test]
    fn sessions_share_the_threads() {
        // (flags, config file's threads and sessions) -> (threads, threads per session, sessions)
        let check = |args: &[&str], file: Option<(usize, usize)>, expect| {
            let file = file.map(|(threads, sessions)| LoadedConfig {
                path: PathBuf::from("/proj/coral.toml"),
                config: FileConfig {
                    threads: Some(threads),
                    sessions: Some(sessions),
                    ..Default::default()
                },
            });
            let s = check_settings(&parse(args), file.as_ref(), Path::new("/proj"))
                .expect("valid")
                .settings;
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
    fn the_server_gets_the_flags_as_a_layer() {
        let options = lsp_options(&parse(&["--no-model", "--sessions=2", "--log-level=debug"]))
            .expect("valid");
        assert_eq!(options.cli.use_model, Some(false));
        assert_eq!(
            options.cli.sessions,
            Some(2),
            "--sessions reaches the server"
        );
        assert_eq!(options.log_level.as_deref(), Some("debug"));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Cli::try_parse_from(["coral-lsp", "--check", "--select=CRL999"]).is_err());
        assert!(Cli::try_parse_from(["coral-lsp", "--check", "--format=xml"]).is_err());
        assert!(Cli::try_parse_from(["coral-lsp", "--no-model", "--device=cpu"]).is_err());
        let s = check_settings(
            &parse(&["--check", "--min-entropy=3"]),
            None,
            Path::new("/"),
        );
        assert!(s.is_err());
        let file = LoadedConfig {
            path: PathBuf::from("/proj/coral.toml"),
            config: FileConfig {
                select: Some(vec!["CRL999".into()]),
                ..Default::default()
            },
        };
        let err = check_settings(&parse(&["--check"]), Some(&file), Path::new("/proj"))
            .expect_err("unknown rule in the file");
        assert!(
            err.to_string().contains("/proj/coral.toml: select"),
            "{err}"
        );
    }
}
