//! The whole repair stage against the scripted model: every status, the prompt, the requests, budget stops,
//! `git apply` on every kept candidate, the summary and `candidates.jsonl`.

use agentless_candidate::CandidateId;
use agentless_localize::{Issue, Locations};
use agentless_model::{ChatRequest, ModelError};
use agentless_repair::{CandidateStatus, MatchRule, RepairOptions, RepairOutput, RepairSummary, repair};
use agentless_syntax::RepoSnapshot;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::{COST_PER_CALL, ScriptedModel, git_apply, write_fixture};

fn edit(path: &str, search: &str, replace: &str) -> String {
    format!("### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n")
}

fn fenced(body: &str) -> String {
    format!("Here is the fix.\n\n```python\n{body}```\n")
}

/// Sample 0 (all three files shown): one answer per status, greedy first.
fn sample_zero_answers() -> (String, Vec<String>) {
    let greedy = fenced(&edit("pkg/calc.py", "def add(a, b):\n    return a + b", "def add(a, b):\n    return b + a"));
    let multi_file_crlf_unfenced = format!(
        "{}\n{}",
        edit("pkg/calc.py", "    return a - b", "    return -(b - a)").trim_start_matches("### "),
        edit("pkg/crlf.py", "    return 'hi ' + name", "    return 'hello ' + name")
    )
    .replace('\n', "\r\n");
    let inherited_and_trailing_space = fenced(&format!(
        "{}<<<<<<< SEARCH\n    return a + b\n=======\n    return int(a) + int(b)\n>>>>>>> REPLACE\n",
        edit("pkg/calc.py", "        self.total += value", "        self.total += int(value)")
    ));
    let dedented = fenced(&edit(
        "pkg/calc.py",
        "def push(self, value):\n    self.total += value\n    return self.total",
        "def push(self, value):\n    self.total -= value\n    return self.total",
    ));
    let sampled = vec![
        multi_file_crlf_unfenced,
        inherited_and_trailing_space,
        dedented,
        "The bug is in `add`, but I am not sure how to fix it.".to_owned(),
        fenced(&edit("pkg/calc.py", "    return a * b", "    return a + b")),
        fenced(&edit("pkg/other.py", "X = 1", "X = 2")),
        fenced(&edit("../outside.py", "x", "y")),
        fenced(&edit("pkg/calc.py", "def add(a, b):", "def add(a, b)")),
        fenced(&edit("pkg/calc.py", "    return a + b", "    return a + b\n")),
    ];
    (greedy, sampled)
}

fn script(request: &ChatRequest) -> Result<Vec<String>, ModelError> {
    let shows = |path: &str| request.prompt.contains(&format!("### {path}\n"));
    let greedy = request.temperature == 0.0;
    if shows("pkg/crlf.py") {
        let (first, rest) = sample_zero_answers();
        return Ok(if greedy { vec![first] } else { rest });
    }
    if shows("pkg/util.py") {
        return match greedy {
            true => Ok(vec![String::new()]),
            false => Err(ModelError::BudgetExhausted { spent: 2.0, limit: 2.0 }),
        };
    }
    Ok(match greedy {
        true => vec![fenced(&edit("pkg/out/evil.py", "x", "y"))],
        false => vec![
            fenced(&edit("pkg/calc.py", "    return 'far'", "    return 'near'")),
            "<<<<<<< SEARCH\n    return a - b\n=======\n    return a - b - 0\n>>>>>>> REPLACE\n".to_owned(),
        ],
    })
}

fn locations() -> Locations {
    serde_json::from_value(serde_json::json!({
        "instance_id": "calc-1",
        "found_files": ["pkg/calc.py", "pkg/util.py", "pkg/crlf.py", "pkg/other.py"],
        "found_edit_locs": [
            {"pkg/calc.py": ["function: add\nfunction: Calc.push"], "pkg/util.py": ["function: helper"],
             "pkg/crlf.py": ["function: greet"], "pkg/other.py": ["line: 1"]},
            {"pkg/util.py": ["function: helper"]},
            {"pkg/calc.py": [""]},
            {"pkg/calc.py": ["function: sub"]}
        ]
    }))
    .unwrap()
}

struct Run {
    output: RepairOutput,
    model: ScriptedModel,
    repo: tempfile::TempDir,
    _outside: tempfile::TempDir,
}

async fn run() -> Run {
    let repo = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write_fixture(repo.path(), outside.path());
    let snapshot = RepoSnapshot::open(repo.path(), None).unwrap();
    let model = ScriptedModel::new(script);
    let issue = Issue { id: "calc-1".into(), text: "add() should add its arguments in order.".into() };
    let output = repair(&model, &snapshot, &issue, &locations(), &RepairOptions::default()).await.unwrap();
    Run { output, model, repo, _outside: outside }
}

#[tokio::test]
async fn every_status_comes_from_some_answer() {
    let Run { output, .. } = run().await;
    let got: Vec<(usize, usize, CandidateStatus)> = output
        .candidates
        .iter()
        .map(|candidate| (candidate.id.location_sample, candidate.id.sample, candidate.status))
        .collect();
    use CandidateStatus::*;
    let expected = vec![
        (0, 0, Ok),
        (0, 1, Ok),
        (0, 2, Ok),
        (0, 3, Ok),
        (0, 4, NoEdits),
        (0, 5, SearchNotFound),
        (0, 6, OutsideContext),
        (0, 7, EscapesRepo),
        (0, 8, SyntaxError),
        (0, 9, WhitespaceOnly),
        (1, 0, Empty),
        (2, 0, Empty),
        (3, 0, EscapesRepo),
        (3, 1, SearchNotFound),
        (3, 2, Ok),
    ];
    assert_eq!(got, expected);
    assert!(output.stopped.as_deref().is_some_and(|why| why.contains("budget")), "{:?}", output.stopped);

    let by_index = |sample: usize, index: usize| {
        output.candidates.iter().find(|c| c.id == CandidateId::new(sample, index)).unwrap()
    };
    assert_eq!(by_index(0, 0).match_rules, [MatchRule::Exact]);
    assert_eq!(by_index(0, 1).edited_files, ["pkg/calc.py", "pkg/crlf.py"]);
    assert_eq!(by_index(0, 2).match_rules, [MatchRule::TrailingWhitespace, MatchRule::Exact]);
    assert_eq!(by_index(0, 3).match_rules, [MatchRule::Indentation]);
    assert!(by_index(0, 3).model_patch.as_ref().unwrap().as_str().contains("\n+        self.total -= value\n"));
    assert!(by_index(3, 1).detail.as_deref().unwrap().contains("which was not shown"), "{:?}", by_index(3, 1).detail);
    assert!(by_index(3, 0).detail.as_deref().unwrap().contains("pkg/out/evil.py"));
    assert_eq!(by_index(3, 2).edited_files, ["pkg/calc.py"]);
    for candidate in &output.candidates {
        assert_eq!(candidate.status == Ok, candidate.model_patch.is_some(), "{candidate:?}");
        assert_eq!(candidate.status == Ok, candidate.detail.is_none(), "{candidate:?}");
    }
    assert!(by_index(0, 8).raw_patch.is_some());
    // An empty answer has no patch of any kind, and says so as `null` in `candidates.jsonl`.
    let empty = by_index(1, 0);
    assert_eq!((&empty.raw_patch, &empty.model_patch, &empty.normalized_patch), (&None, &None, &None));
    let line: serde_json::Value = serde_json::to_value(empty).unwrap();
    assert_eq!(
        (&line["id"], &line["model_patch"], &line["normalized_patch"]),
        (&"L1.S0".into(), &json!(null), &json!(null))
    );
}

#[tokio::test]
async fn requests_follow_the_original_sampling() {
    let Run { model, .. } = run().await;
    let mut requests: Vec<(bool, f32, u32, u32)> = model
        .requests()
        .iter()
        .map(|request| {
            assert_eq!(request.stage, "repair");
            assert_eq!(request.system, "You are a helpful assistant.");
            (request.prompt.contains("### pkg/crlf.py"), request.temperature, request.samples, request.max_tokens)
        })
        .collect();
    requests.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Samples 1 and 3 (without crlf.py) and sample 0: a greedy request and one for the other 9 each; the
    // empty sample 2 sends nothing.
    assert_eq!(
        requests,
        [
            (false, 0.0, 1, 1024),
            (false, 0.0, 1, 1024),
            (false, 0.8, 9, 1024),
            (false, 0.8, 9, 1024),
            (true, 0.0, 1, 1024),
            (true, 0.8, 9, 1024)
        ]
    );
}

#[tokio::test]
async fn the_prompt_shows_the_merged_spans_of_the_top_files() {
    let Run { model, .. } = run().await;
    let prompt = model.requests().into_iter().find(|r| r.prompt.contains("### pkg/crlf.py")).unwrap().prompt;
    insta::assert_snapshot!(prompt.replace('\r', "<CR>"));
}

#[tokio::test]
async fn git_apply_accepts_every_kept_candidate() {
    let Run { output, repo, .. } = run().await;
    let kept: Vec<_> = output.candidates.iter().filter(|c| c.status == CandidateStatus::Ok).collect();
    assert_eq!(kept.len(), 5);
    for candidate in &kept {
        let patch = candidate.model_patch.as_ref().unwrap().as_str();
        if let Err(error) = git_apply(repo.path(), patch, true) {
            panic!("git apply --check rejects\n{patch}\n{error}");
        }
    }
    let multi_file = kept.iter().find(|c| c.edited_files.len() == 2).unwrap();
    git_apply(repo.path(), multi_file.model_patch.as_ref().unwrap().as_str(), false).unwrap();
    assert_eq!(
        fs_err::read_to_string(repo.path().join("pkg/crlf.py")).unwrap(),
        "def greet(name):\r\n    return 'hello ' + name\r\n"
    );
    assert!(fs_err::read_to_string(repo.path().join("pkg/calc.py")).unwrap().contains("    return -(b - a)\n"));
}

#[tokio::test]
async fn summary_and_jsonl() {
    let Run { output, repo, .. } = run().await;
    let summary = RepairSummary::of(&output.candidates);
    assert_eq!(
        (summary.samples, summary.applied, summary.kept, summary.syntax_errors, summary.empty),
        (15, 7, 5, 1, 2)
    );
    assert_eq!(summary.distinct_normalized, 5);
    // Five requests answered (the sixth ran out of budget); each cost is carried by one candidate.
    assert_eq!(summary.cost_usd, 5.0 * COST_PER_CALL);
    assert_eq!(summary.usage.prompt_tokens, 500);

    let path = repo.path().join("candidates.jsonl");
    agentless_repair::write_candidates(&path, &output.candidates).unwrap();
    let text = fs_err::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 15);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["instance_id"], "calc-1");
    assert_eq!(first["status"], "ok");
    assert_eq!(first["match_rules"], serde_json::json!(["exact"]));
    assert_eq!(agentless_repair::read_candidates(&path).unwrap(), output.candidates);
}
