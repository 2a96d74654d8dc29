//! Featurization throughput and window statistics on real corpus cells, side by side with the
//! Python `ast` reference (`bench/ast_reference.py`) on the identical cells.
//!
//! `cargo bench -p coral-core --bench featurize -- [--cells N] [--shards GLOB_DIR] [--no-python]`

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::time::Instant;

use coral_core::{featurize_notebook, CorpusRecord, Notebook, SeedTable};
use rayon::prelude::*;

struct Args {
    cells: usize,
    corpus: PathBuf,
    python: bool,
    repeat: usize,
}

fn args() -> Args {
    let mut out = Args {
        cells: 20_000,
        corpus: PathBuf::from("../shared/data/notebooks"),
        python: true,
        repeat: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--cells" => out.cells = it.next().and_then(|v| v.parse().ok()).unwrap_or(out.cells),
            "--corpus" => out.corpus = it.next().map_or(out.corpus, PathBuf::from),
            "--no-python" => out.python = false,
            "--repeat" => {
                out.repeat = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(out.repeat)
                    .max(1);
            }
            _ => {}
        }
    }
    if !out.corpus.exists() {
        out.corpus = PathBuf::from("../../shared/data/notebooks");
    }
    out
}

/// Whole notebooks, in shard order, until `cells` non-empty code cells are covered. The last
/// notebook is cut so exactly `cells` code cells are featurized.
fn load(args: &Args) -> Vec<Notebook> {
    let mut shards: Vec<PathBuf> = std::fs::read_dir(&args.corpus)
        .expect("corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    shards.sort();
    let mut notebooks = Vec::new();
    let mut remaining = args.cells;
    for shard in shards {
        let reader = BufReader::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&shard).expect("shard"),
        ));
        for line in reader.lines() {
            let Ok(line) = line else { break };
            let Ok(record) = CorpusRecord::from_json_line(&line) else {
                continue;
            };
            let mut notebook = record.notebook;
            let mut keep = 0;
            let mut code = 0;
            for cell in &notebook.cells {
                keep += 1;
                if cell.kind == coral_core::CellKind::Code && !cell.is_blank() {
                    code += 1;
                    if code == remaining {
                        break;
                    }
                }
            }
            notebook.cells.truncate(keep);
            notebook
                .cells
                .retain(|c| c.kind != coral_core::CellKind::Code || !c.is_blank());
            remaining -= code;
            notebooks.push(notebook);
            if remaining == 0 {
                return notebooks;
            }
        }
    }
    notebooks
}

fn percentile(sorted: &[usize], q: f64) -> usize {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() {
    let args = args();
    let notebooks = load(&args);
    let seeds = SeedTable::builtin();
    let cells: usize = notebooks
        .iter()
        .map(|nb| nb.code_cell_indices().count())
        .sum();

    // warm-up, then best of three single-threaded
    let features: Vec<_> = notebooks
        .iter()
        .map(|nb| featurize_notebook(nb, &seeds))
        .collect();
    let single = (0..args.repeat)
        .map(|_| {
            let start = Instant::now();
            let n: usize = notebooks
                .iter()
                .map(|nb| featurize_notebook(nb, &seeds).len())
                .sum();
            assert_eq!(n, cells);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let threads = rayon::current_num_threads();
    let parallel = (0..args.repeat)
        .map(|_| {
            let start = Instant::now();
            let n: usize = notebooks
                .par_iter()
                .map(|nb| featurize_notebook(nb, &seeds).len())
                .sum();
            assert_eq!(n, cells);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);

    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("grammar");
    let sources: Vec<&str> = notebooks
        .iter()
        .flat_map(|nb| nb.cells.iter())
        .filter(|c| c.kind == coral_core::CellKind::Code)
        .map(|c| c.source.as_str())
        .collect();
    let parse_only = (0..args.repeat)
        .map(|_| {
            let start = Instant::now();
            let trees = sources
                .iter()
                .filter(|s| parser.parse(s, None).is_some())
                .count();
            assert_eq!(trees, sources.len());
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);

    let all: Vec<_> = features.iter().flatten().collect();
    let mut code_positions: Vec<usize> = all.iter().map(|c| c.graph.code_positions).collect();
    code_positions.sort_unstable();
    let nodes: f64 = all.iter().map(|c| c.syntax_nodes as f64).sum::<f64>() / cells as f64;
    let mean_positions = code_positions.iter().sum::<usize>() as f64 / cells as f64;
    let over = code_positions.iter().filter(|&&p| p + 1 > 160).count() as f64 / cells as f64;
    let errors = all.iter().filter(|c| c.syntax_error).count() as f64 / cells as f64;
    let labelled = all.iter().filter(|c| c.weak_label.is_some()).count() as f64 / cells as f64;
    let bytes: usize = notebooks
        .iter()
        .flat_map(|nb| nb.cells.iter())
        .filter(|c| c.kind == coral_core::CellKind::Code)
        .map(|c| c.source.len())
        .sum();
    println!("coral featurizer (parse + graph + qualified names + weak label), {cells} cells, {} notebooks, {:.1} MB", notebooks.len(), bytes as f64 / 1e6);
    println!(
        "  single thread : {:>9.0} cells/s ({:.1} µs/cell)",
        cells as f64 / single,
        single * 1e6 / cells as f64
    );
    println!(
        "  {threads} threads     : {:>9.0} cells/s",
        cells as f64 / parallel
    );
    println!(
        "  of which tree-sitter parsing alone: {:.1} µs/cell",
        parse_only * 1e6 / cells as f64
    );
    println!("  code positions per cell: mean {mean_positions:.1}, p50 {}, p90 {}, p99 {}; cells over the 160 window: {:.1}%", percentile(&code_positions, 0.5), percentile(&code_positions, 0.9), percentile(&code_positions, 0.99), over * 100.0);
    println!(
        "  syntax nodes per cell: mean {nodes:.1}; parse errors {:.2}%; weak-label coverage {:.1}%",
        errors * 100.0,
        labelled * 100.0
    );

    if args.python {
        let dump =
            std::env::temp_dir().join(format!("coral-bench-cells-{}.jsonl", std::process::id()));
        {
            let mut file =
                std::io::BufWriter::new(std::fs::File::create(&dump).expect("temp file"));
            for (n, nb) in notebooks.iter().enumerate() {
                for index in nb.code_cell_indices() {
                    let line = serde_json::json!({"id": format!("nb{n}"), "cell": index, "source": nb.cells[index].source});
                    writeln!(file, "{line}").expect("write dump");
                }
            }
        }
        let script = ["bench/ast_reference.py", "../bench/ast_reference.py"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        if let Some(script) = script {
            let out = std::process::Command::new("python3")
                .args([
                    script,
                    "--from-cells",
                    &dump.to_string_lossy(),
                    "--cells",
                    &cells.to_string(),
                    "--jobs",
                    &threads.to_string(),
                ])
                .output();
            match out {
                Ok(out) => {
                    let report: serde_json::Value =
                        serde_json::from_slice(&out.stdout).unwrap_or_default();
                    println!("python ast reference (ast.parse + ast.walk) on the same cells:");
                    println!(
                        "  single process: {:>9.0} cells/s",
                        report["cells_per_s"].as_f64().unwrap_or(f64::NAN)
                    );
                    println!(
                        "  {threads} processes   : {:>9.0} cells/s",
                        report["parallel"]["cells_per_s"]
                            .as_f64()
                            .or_else(|| report["jobs_cells_per_s"].as_f64())
                            .unwrap_or(f64::NAN)
                    );
                    println!(
                        "  ast nodes per cell: mean {:.1}; cells over 160 nodes: {:.1}%",
                        report["mean_nodes_per_cell"].as_f64().unwrap_or(f64::NAN),
                        report["share_over_160_nodes"].as_f64().unwrap_or(f64::NAN) * 100.0
                    );
                    println!(
                        "  raw: {}",
                        String::from_utf8_lossy(&out.stdout)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
                Err(e) => println!("python reference not run: {e}"),
            }
        }
        let _ = std::fs::remove_file(dump);
    }
}
