//! `swebench infer` with the `paper` preset asks the model exactly what the original's documented SWE-bench run
//! asks for one instance: the same stages, with the same number of samples, temperature and token limit.

use agentless_tests::{Script, ScriptedModelServer, workspace_root};

use crate::stderr;
use crate::swebench::{dataset, infer_with};

/// One request as the original's documented run makes it: (stage, samples asked for (`n`), temperature, max tokens).
type Request = (&'static str, u64, f64, u64);

/// The original's requests for one instance whose related locations resolve on the first try (README_swebench.md's
/// commands at 5ce5888; file and line of each in the comment).
const ORIGINAL_REQUESTS: [Request; 15] = [
    // fl/FL.py:335-343: file-level ranking, greedy, `self.max_tokens = 300` (FL.py:237).
    ("localize.file", 1, 0.0, 300),
    // fl/FL.py:267-275: irrelevant folders, greedy, `max_tokens=2048`.
    ("localize.irrelevant", 1, 0.0, 2048),
    // fl/FL.py:435-443: related elements from skeletons, greedy (retries at T=1.0 only when nothing resolves).
    ("localize.related", 1, 0.0, 300),
    // fl/FL.py:622-631 with `--temperature 0.8 --num_samples 4`: one request with `n=4`.
    ("localize.edit", 4, 0.8, 300),
    // repair/repair.py:404-447 with `--max_samples 10`, for each of the 4 location samples: 1 greedy + n=9 at 0.8.
    ("repair", 1, 0.0, 1024),
    ("repair", 9, 0.8, 1024),
    ("repair", 1, 0.0, 1024),
    ("repair", 9, 0.8, 1024),
    ("repair", 1, 0.0, 1024),
    ("repair", 9, 0.8, 1024),
    ("repair", 1, 0.0, 1024),
    ("repair", 9, 0.8, 1024),
    // test/generate_reproduction_tests.py:140-200 with `--max_samples 40`: 1 greedy + n=39 at 0.8, 1024 tokens.
    ("validate.reproduce", 1, 0.0, 1024),
    ("validate.reproduce", 39, 0.8, 1024),
    // test/select_regression_tests.py:95-99: the exclusion request, greedy, 1024 tokens.
    ("validate.regression", 1, 0.0, 1024),
];

fn sorted(mut requests: Vec<(String, u64, f64, u64)>) -> Vec<(String, u64, f64, u64)> {
    requests.sort_by(|a, b| (&a.0, a.1, a.3).cmp(&(&b.0, b.1, b.3)).then(a.2.total_cmp(&b.2)));
    requests
}

#[tokio::test(flavor = "multi_thread")]
async fn the_paper_preset_makes_the_original_s_requests() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    let script = Script::load(&workspace_root().join("examples/tinyinvoice.script.json")).unwrap();
    let server = ScriptedModelServer::start(script).await;
    let (home, base_url) = (root.path().to_owned(), server.base_url());
    let output = tokio::task::spawn_blocking(move || {
        let model = ["--model", "openai-compatible:scripted", "--base-url", &base_url, "--no-cache"];
        infer_with(&home, "out", &model, &["--instances", "example__tinyinvoice-1"])
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The preset is the paper's unless told otherwise, and the run says so.
    assert!(stderr(&output).contains("preset paper (the original's documented SWE-bench run)"), "{}", stderr(&output));

    let sent: Vec<(String, u64, f64, u64)> = server
        .received()
        .iter()
        .map(|request| {
            let body = &request.body;
            let samples = body["n"].as_u64().unwrap_or(1);
            let temperature = body["temperature"].as_f64().unwrap_or(f64::NAN);
            let max_tokens = body["max_tokens"].as_u64().or_else(|| body["max_completion_tokens"].as_u64());
            (request.stage.clone(), samples, (temperature * 100.0).round() / 100.0, max_tokens.unwrap_or(0))
        })
        .collect();
    let original = ORIGINAL_REQUESTS
        .iter()
        .map(|&(stage, n, temperature, max_tokens)| (stage.to_owned(), n, temperature, max_tokens));
    assert_eq!(sorted(sent), sorted(original.collect()));
}
