//! Data-driven tests of the notebook data-flow pass: `check(cells, expect)` featurizes the cells
//! in order and prints, per cell, the typed names in scope after it and what the cell does.

use coral_core::{featurize_cell, Scope, SeedTable};

fn render(cells: &[&str]) -> String {
    let seeds = SeedTable::builtin();
    let mut scope = Scope::new();
    let mut out = String::new();
    for (index, source) in cells.iter().enumerate() {
        let features = featurize_cell(index, source, None, None, &mut scope, &seeds);
        let flow = features.flow;
        let names: Vec<String> = scope
            .typed_names()
            .into_iter()
            .map(|(name, kind)| format!("{name}={kind}"))
            .collect();
        let mut facts = Vec::new();
        if flow.fits {
            facts.push("fits".to_owned());
        }
        if flow.displays {
            let shown: Vec<&str> = flow.shown.iter().map(|k| k.as_str()).collect();
            facts.push(format!("shows[{}]", shown.join(",")));
        }
        if flow.mutates_data {
            facts.push("mutates".to_owned());
        }
        if flow.setup_only {
            facts.push("setup".to_owned());
        }
        let label = features
            .weak_label
            .map_or_else(|| "-".to_owned(), |l| format!("{} {}", l.stage, l.rule));
        out.push_str(&format!(
            "{index}: {} | {} | {label}\n",
            names.join(" "),
            facts.join(" ")
        ));
    }
    out
}

#[track_caller]
fn check(cells: &[&str], expect: &str) {
    let actual = render(cells);
    let expect: String = expect
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(actual, expect, "\nactual:\n{actual}");
}

#[test]
fn sklearn_pipeline_types_data_models_predictions_and_scores() {
    check(
        &[
            "import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\nfrom sklearn.metrics import accuracy_score\nfrom sklearn.model_selection import train_test_split, cross_val_score",
            "df = pd.read_csv('train.csv')",
            "df['age'] = df['age'].fillna(df['age'].median())\nX = df.drop(columns=['y'])\ny = df['y']",
            "X_train, X_test, y_train, y_test = train_test_split(X, y)",
            "clf = RandomForestClassifier(n_estimators=100)\nclf.fit(X_train, y_train)",
            "y_pred = clf.predict(X_test)",
            "acc = accuracy_score(y_test, y_pred)",
            "acc",
            "scores = cross_val_score(clf, X, y, cv=5)",
            "print(scores.mean())",
            "clf.feature_importances_",
        ],
        "
        0:  | setup | IMPORT import-share
        1: df=data |  | WRANGLE seed:pandas.read_csv
        2: X=data df=data y=data | mutates | WRANGLE seed:pandas.read_csv.fillna
        3: X=data X_test=data X_train=data df=data y=data y_test=data y_train=data |  | WRANGLE seed:sklearn.model_selection.train_test_split
        4: X=data X_test=data X_train=data clf=model df=data y=data y_test=data y_train=data | fits | MODEL seed:sklearn.ensemble.RandomForestClassifier
        5: X=data X_test=data X_train=data clf=model df=data y=data y_pred=predictions y_test=data y_train=data |  | -
        6: X=data X_test=data X_train=data acc=score clf=model df=data y=data y_pred=predictions y_test=data y_train=data |  | EVALUATE seed:sklearn.metrics.accuracy_score
        7: X=data X_test=data X_train=data acc=score clf=model df=data y=data y_pred=predictions y_test=data y_train=data | shows[score] | EVALUATE flow:show-evaluation
        8: X=data X_test=data X_train=data acc=score clf=model df=data scores=score y=data y_pred=predictions y_test=data y_train=data |  | EVALUATE seed:sklearn.model_selection.cross_val_score
        9: X=data X_test=data X_train=data acc=score clf=model df=data scores=score y=data y_pred=predictions y_test=data y_train=data | shows[score] | EVALUATE flow:show-evaluation
        10: X=data X_test=data X_train=data acc=score clf=model df=data scores=score y=data y_pred=predictions y_test=data y_train=data | shows[model,score] | EVALUATE flow:show-evaluation
        ",
    );
}

#[test]
fn keras_history_and_plots_of_predictions_are_evaluation() {
    check(
        &[
            "from keras.models import Sequential\nimport matplotlib.pyplot as plt\nimport numpy as np",
            "model = Sequential()\nmodel.compile(loss='mse', optimizer='adam')",
            "history = model.fit(x, y, epochs=5)",
            "plt.plot(history.history['loss'])\nplt.show()",
            "pred = model.predict(x_val)\nplt.scatter(y_val, pred)",
            "residuals = y_val - pred\nnp.mean(residuals)",
        ],
        "
        0:  | setup | IMPORT import-share
        1: model=model | fits | MODEL seed:keras.models.Sequential
        2: history=history model=model | fits | MODEL flow:fit
        3: history=history model=model | shows[history] | EVALUATE flow:show-evaluation
        4: history=history model=model pred=predictions | shows[predictions] | EVALUATE flow:show-evaluation
        5: history=history model=model pred=predictions residuals=predictions | shows[predictions] | EVALUATE flow:show-evaluation
        ",
    );
}

#[test]
fn a_fit_call_types_an_unknown_object_as_a_model_and_statsmodels_results_are_fitted() {
    check(
        &[
            "import statsmodels.formula.api as smf\nimport seaborn as sns\nimport pandas as pd",
            "net = build_network(64)\nnet.fit(X, y)",
            "res = smf.ols('y ~ x', data=df).fit()",
            "res.summary()",
            "print(res.params)",
            "df = pd.read_csv('a.csv')\nsns.histplot(df['x'])",
        ],
        "
        0:  | setup | IMPORT import-share
        1: net=model | fits | MODEL flow:fit
        2: net=model res=fitted | fits | MODEL seed:statsmodels.formula.api.ols
        3: net=model res=fitted | shows[fitted,score] | EVALUATE flow:show-evaluation
        4: net=model res=fitted | shows[fitted,score] | EVALUATE flow:show-evaluation
        5: df=data net=model res=fitted | shows[data] | EXPLORE seed:seaborn.histplot
        ",
    );
}

#[test]
fn setup_cells_constants_and_writing_data_out() {
    check(
        &[
            "import pandas as pd\nimport matplotlib.pyplot as plt\nimport warnings",
            "warnings.filterwarnings('ignore')\npd.set_option('display.max_columns', 50)\nplt.rcParams['figure.figsize'] = (10, 6)",
            "DATA_DIR = '../data'\nSEED = 42",
            "df = pd.read_excel(DATA_DIR + '/x.xlsx')",
            "df.to_csv('clean.csv')",
            "df.shape",
            // A helper applied to data, last in the cell, shows something made from it.
            "helper(df)",
        ],
        "
        0:  | setup | IMPORT import-share
        1:  | setup | IMPORT flow:setup
        2:  | setup | IMPORT flow:setup
        3: df=data |  | WRANGLE seed:pandas.read_excel
        4: df=data |  | -
        5: df=data | shows[data] | EXPLORE flow:show-data
        6: df=data | shows[data] | EXPLORE flow:show-data
        ",
    );
}

#[test]
fn names_reassigned_to_untyped_values_lose_their_kind_and_functions_bind_nothing() {
    check(
        &[
            "import pandas as pd",
            "df = pd.DataFrame({'a': [1, 2]})\ndef clean(frame):\n    out = frame.dropna()\n    return out",
            "df = 3",
        ],
        "
        0:  | setup | IMPORT import-share
        1: df=data |  | WRANGLE flow:transform
        2:  | setup | IMPORT flow:setup
        ",
    );
}
