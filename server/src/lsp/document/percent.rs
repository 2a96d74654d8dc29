//! Where the cells of a `# %%` percent script start, so that a cell's label can be shown on
//! its marker line. The cells themselves come from [`coral_core::Notebook::from_percent_script`]
//! (the one parser); this only finds the lines, by the same marker rule.

use coral_core::CellKind;

/// A cell of a percent script: its first line (the marker line, or line 0 for text before
/// the first marker) and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentCell {
    pub line: usize,
    pub kind: CellKind,
}

/// The cells of `text` in order, matching `Notebook::from_percent_script(text).cells`.
pub fn cell_starts(text: &str) -> Vec<PercentCell> {
    let mut cells = Vec::new();
    let mut preamble_has_text = false;
    let mut seen_marker = false;
    for (line_no, line) in text.split('\n').enumerate() {
        if let Some(kind) = marker(line) {
            if !seen_marker && preamble_has_text {
                cells.push(PercentCell {
                    line: 0,
                    kind: CellKind::Code,
                });
            }
            seen_marker = true;
            cells.push(PercentCell {
                line: line_no,
                kind,
            });
        } else if !seen_marker && !line.trim().is_empty() {
            preamble_has_text = true;
        }
    }
    if !seen_marker && preamble_has_text {
        cells.push(PercentCell {
            line: 0,
            kind: CellKind::Code,
        });
    }
    cells
}

/// `# %%`, `#%%`, `# %% title`, `# %% [markdown]`, `# %% [md]`, `# %% [raw]`.
fn marker(line: &str) -> Option<CellKind> {
    let rest = line
        .trim_end()
        .strip_prefix('#')?
        .trim_start()
        .strip_prefix("%%")?;
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('[')) {
        return None;
    }
    let rest = rest.trim_start();
    if rest.starts_with("[markdown]") || rest.starts_with("[md]") {
        Some(CellKind::Markdown)
    } else if rest.starts_with("[raw]") {
        Some(CellKind::Raw)
    } else {
        Some(CellKind::Code)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use coral_core::Notebook;

    #[test]
    fn starts_agree_with_the_core_parser() {
        let texts = [
            "import pandas as pd\n\n# %%\ndf = pd.read_csv('a.csv')\n# %% [markdown]\n# ## Plot\n#%%\ndf.plot()\n",
            "# %%\nx = 1\n# %%\n",
            "\n\n# %% first\nx\n",
            "#%%\r\ny\r\n# %% [raw]\nraw\n",
            "no markers at all\n",
            "",
            "#%%x is not a marker\n# %%[md]\n# text\n",
        ];
        for text in texts {
            let core: Vec<CellKind> = Notebook::from_percent_script(text)
                .cells
                .iter()
                .map(|c| c.kind)
                .collect();
            let ours: Vec<CellKind> = cell_starts(text).iter().map(|c| c.kind).collect();
            assert_eq!(ours, core, "{text:?}");
        }
        let starts: Vec<usize> = cell_starts(texts[0]).iter().map(|c| c.line).collect();
        assert_eq!(starts, [0, 2, 4, 6]);
    }
}
