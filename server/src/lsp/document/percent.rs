//! Where the cells of a `# %%` percent script start, so that a cell's label can be shown on
//! its marker line. Both the cells and their lines come from coral-core's one splitter
//! ([`coral_core::percent_spans`]).

use coral_core::CellKind;

/// A cell of a percent script: its first line (the marker line, or the first non-blank line of
/// text before the first marker) and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentCell {
    pub line: usize,
    pub kind: CellKind,
}

/// The cells of `text` in order, matching `Notebook::from_percent_script(text).cells`.
pub fn cell_starts(text: &str) -> Vec<PercentCell> {
    coral_core::percent_spans(text)
        .into_iter()
        .map(|span| PercentCell {
            line: span.line,
            kind: span.kind,
        })
        .collect()
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
        let starts: Vec<usize> = cell_starts(texts[2]).iter().map(|c| c.line).collect();
        assert_eq!(starts, [2]);
    }
}
