//! The page's one stylesheet and the stage colours.

use std::fmt::Write as _;

use coral_core::Stage;

/// The VS Code extension's pipeline view colours (`vscode-extension/src/core/stages.ts`), so the
/// report and the editor paint a stage alike: Okabe–Ito, safe for colour-blind readers and
/// readable on light and dark backgrounds.
pub fn stage_color(stage: Option<Stage>) -> &'static str {
    match stage {
        Some(Stage::Import) => "#0072B2",
        Some(Stage::Wrangle) => "#E69F00",
        Some(Stage::Explore) => "#009E73",
        Some(Stage::Model) => "#CC79A7",
        Some(Stage::Evaluate) => "#D55E00",
        None => "#8a8a8a",
    }
}

/// The class that paints `stage` (SVG `fill` and HTML `background` alike).
pub fn stage_class(stage: Option<Stage>) -> &'static str {
    match stage {
        Some(Stage::Import) => "s-import",
        Some(Stage::Wrangle) => "s-wrangle",
        Some(Stage::Explore) => "s-explore",
        Some(Stage::Model) => "s-model",
        Some(Stage::Evaluate) => "s-evaluate",
        None => "s-none",
    }
}

const BASE: &str = "
:root{color-scheme:light dark;--fg:#1f2328;--muted:#656d76;--bg:#ffffff;--panel:#f6f8fa;--line:#d0d7de;--link:#0969da;}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--bg:#0d1117;--panel:#161b22;--line:#30363d;--link:#4493f8;}}
body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;font-size:14px;line-height:1.45;color:var(--fg);background:var(--bg);margin:0;padding:20px 28px;max-width:1100px;}
h1{font-size:1.5em;margin:0 0 4px;}
h2{font-size:1.2em;margin:0 0 4px;word-break:break-all;}
h3{font-size:1em;margin:16px 0 6px;}
a{color:var(--link);}
.sub,.empty{color:var(--muted);}
.sub{margin:0 0 10px;}
section.notebook{border:1px solid var(--line);border-radius:6px;padding:14px 16px;margin:18px 0;}
svg.strip{display:block;border-radius:3px;}
svg.strip rect{stroke:var(--bg);stroke-width:1px;vector-effect:non-scaling-stroke;}
svg.strip a:hover rect,svg.strip a:focus rect{opacity:.75;}
.legend{display:flex;flex-wrap:wrap;gap:14px;list-style:none;padding:0;margin:8px 0;}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px;}
table{border-collapse:collapse;}
td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top;}
th{color:var(--muted);font-weight:600;}
td.num{text-align:right;font-variant-numeric:tabular-nums;}
.track{fill:var(--panel);stroke:var(--line);stroke-width:1px;vector-effect:non-scaling-stroke;}
.mark{fill:var(--fg);}
ul.findings{list-style:none;padding:0;margin:0;}
ul.findings li{padding:2px 0;}
.sev{display:inline-block;min-width:64px;font-weight:600;}
.sev-error{color:#cf222e;}
.sev-warning{color:#9a6700;}
.sev-info{color:#0969da;}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em;}
tr:target{background:var(--panel);outline:2px solid var(--link);}
";

/// The stylesheet: the base rules and one colour rule per stage.
pub fn css() -> String {
    let mut out = BASE.to_owned();
    for stage in Stage::ALL.iter().map(|&s| Some(s)).chain([None]) {
        let color = stage_color(stage);
        let _ = writeln!(
            out,
            ".{}{{fill:{color};background:{color};}}",
            stage_class(stage)
        );
    }
    out
}
