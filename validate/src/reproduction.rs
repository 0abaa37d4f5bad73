//! Reproduction tests: the model writes standalone tests from the issue; those that reproduce the issue on the
//! original are normalized and voted on, and the winner is run on every candidate.

use std::time::Duration;

use agentless_model::{ChatRequest, LanguageModel, Usage};
use agentless_prompts::Template;
use serde::{Deserialize, Serialize};

use crate::ValidateError;
use agentless_sandbox::Sandbox;

/// The stage header of the generation request.
pub const STAGE: &str = "validate.reproduce";

/// Where the test is written in the checkout, as the original names it.
pub const TEST_FILE: &str = "reproduce_bug.py";

/// What a test's own stdout says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// `Issue reproduced` and neither of the other two.
    Reproduced,
    /// `Issue resolved` and neither of the other two.
    Resolved,
    /// `Other issues`, or more than one sentinel.
    OtherIssues,
    /// None of the three.
    Silent,
    TimedOut,
}

impl Verdict {
    pub fn of(stdout: &str, timed_out: bool) -> Self {
        if timed_out {
            return Verdict::TimedOut;
        }
        let reproduced = stdout.contains("Issue reproduced");
        let resolved = stdout.contains("Issue resolved");
        let other = stdout.contains("Other issues");
        match (reproduced, resolved, other) {
            (true, false, false) => Verdict::Reproduced,
            (false, true, false) => Verdict::Resolved,
            (false, false, false) => Verdict::Silent,
            (true, true, _) | (true, false, true) | (false, true, true) | (false, false, true) => Verdict::OtherIssues,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratedTest {
    pub sample: usize,
    pub temperature: f32,
    pub raw_output: String,
    /// The first ```python block; `None` when the answer had none.
    pub code: Option<String>,
    pub normalized: String,
    /// What the test says on the original (`None` when it has no code).
    pub on_original: Option<Verdict>,
    pub stdout: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReproductionPlan {
    pub tests: Vec<GeneratedTest>,
    /// Index into `tests` of the chosen test: the majority among those that reproduce the issue.
    pub chosen: Option<usize>,
    pub votes: usize,
    pub usage: Usage,
    pub cost_usd: f64,
}

impl ReproductionPlan {
    pub fn chosen_code(&self) -> Option<&str> {
        self.chosen.and_then(|index| self.tests.get(index)).and_then(|test| test.code.as_deref())
    }
}

/// The first fenced Python block (```python, or a bare fence when there is no python one).
pub fn first_python_block(text: &str) -> Option<String> {
    let text = text.replace("\r\n", "\n");
    let start = text
        .find("```python\n")
        .map(|at| at + "```python\n".len())
        .or_else(|| text.find("```\n").map(|at| at + "```\n".len()))?;
    let rest = &text[start..];
    let end = rest.find("\n```").unwrap_or(rest.len());
    let code = rest[..end].trim_end();
    (!code.trim().is_empty()).then(|| format!("{code}\n"))
}

/// Normalize a test for the vote as the original does: canonical code, and the function called on the last
/// line renamed to `test_func`.
fn normalize_test(code: &str) -> String {
    let canonical = agentless_syntax::normalize::normalize_python(code);
    let last_call = canonical
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .and_then(|line| line.trim().strip_suffix("()"))
        .filter(|name| name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .map(str::to_owned);
    match last_call {
        Some(name) if !name.is_empty() => replace_identifier(&canonical, &name, "test_func"),
        _ => canonical,
    }
}

/// Replace whole identifiers only (`name` in `name()` but not in `rename` or `name_2`).
fn replace_identifier(text: &str, name: &str, with: &str) -> String {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            out.push_str(name);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

pub(crate) async fn run_test(
    sandbox: &dyn Sandbox,
    code: &str,
    timeout: Duration,
    output_cap: usize,
) -> Result<(Verdict, String), ValidateError> {
    sandbox.write_file(TEST_FILE, code.as_bytes()).await?;
    let request = crate::shell_request(sandbox, &format!("python {TEST_FILE}"), timeout, output_cap);
    let output = sandbox.exec(&request).await?;
    Ok((Verdict::of(&output.stdout, output.timed_out), output.stdout))
}

/// Generate `count` tests (one greedy, the rest at `temperature`), run each on the original, and vote.
pub async fn plan(
    model: &dyn LanguageModel,
    sandbox: &dyn Sandbox,
    issue: &str,
    count: u32,
    temperature: f32,
    timeout: Duration,
    output_cap: usize,
) -> Result<ReproductionPlan, ValidateError> {
    let prompt = Template::ReproductionTest.render(&[("problem_statement", issue)])?;
    let system = Template::System.render(&[])?;
    let mut plan = ReproductionPlan::default();
    let mut answers: Vec<(f32, String)> = Vec::new();
    for (samples, sample_temperature) in [(1, 0.0), (count.saturating_sub(1), temperature)] {
        if samples == 0 {
            continue;
        }
        tracing::info!(stage = STAGE, "generating {samples} reproduction test(s)");
        let request = ChatRequest {
            stage: STAGE.to_owned(),
            system: system.clone(),
            prompt: prompt.clone(),
            temperature: sample_temperature,
            max_tokens: 1024,
            samples,
            sample_key: 0,
        };
        let completion = model.complete(&request).await?;
        plan.usage.prompt_tokens += completion.usage.prompt_tokens;
        plan.usage.completion_tokens += completion.usage.completion_tokens;
        plan.usage.cached_tokens += completion.usage.cached_tokens;
        plan.usage.cache_creation_tokens += completion.usage.cache_creation_tokens;
        plan.cost_usd += completion.cost_usd;
        answers.extend(completion.samples.into_iter().map(|text| (sample_temperature, text)));
    }
    for (sample, (sample_temperature, raw_output)) in answers.into_iter().enumerate() {
        let code = first_python_block(&raw_output);
        let mut test = GeneratedTest {
            sample,
            temperature: sample_temperature,
            normalized: code.as_deref().map(normalize_test).unwrap_or_default(),
            code,
            raw_output,
            on_original: None,
            stdout: String::new(),
        };
        if let Some(code) = &test.code {
            tracing::info!(stage = STAGE, "running reproduction test {} on the original", sample + 1);
            sandbox.reset().await?;
            let (verdict, stdout) = run_test(sandbox, code, timeout, output_cap).await?;
            test.on_original = Some(verdict);
            test.stdout = stdout;
        }
        plan.tests.push(test);
    }
    // Majority vote over the normalized tests that reproduce the issue; ties to the earliest.
    let mut best: Option<(usize, usize)> = None;
    for (index, test) in plan.tests.iter().enumerate() {
        if test.on_original != Some(Verdict::Reproduced) {
            continue;
        }
        let votes = plan
            .tests
            .iter()
            .filter(|other| other.on_original == Some(Verdict::Reproduced) && other.normalized == test.normalized)
            .count();
        if best.is_none_or(|(_, best_votes)| votes > best_votes) {
            best = Some((index, votes));
        }
    }
    if let Some((index, votes)) = best {
        plan.chosen = Some(index);
        plan.votes = votes;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generation_prompt_is_the_original_s() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let issue = fs_err::read_to_string(root.join("localize/tests/fixtures/shop.issue.md")).unwrap();
        let expected = fs_err::read_to_string(root.join("prompts/tests/data/shop/reproduction_test.txt")).unwrap();
        // As `plan` renders it.
        let prompt = Template::ReproductionTest.render(&[("problem_statement", &issue)]).unwrap();
        pretty_assertions::assert_eq!(prompt, expected);
    }

    #[test]
    fn verdicts_need_exactly_one_sentinel() {
        assert_eq!(Verdict::of("Issue reproduced\n", false), Verdict::Reproduced);
        assert_eq!(Verdict::of("x\nIssue resolved\n", false), Verdict::Resolved);
        assert_eq!(Verdict::of("Issue reproduced\nOther issues\n", false), Verdict::OtherIssues);
        assert_eq!(Verdict::of("nothing", false), Verdict::Silent);
        assert_eq!(Verdict::of("Issue resolved", true), Verdict::TimedOut);
    }

    #[test]
    fn tests_differing_only_in_the_function_name_vote_together() {
        let a = "def check_a():\n    print('Issue reproduced')\n\ncheck_a()\n";
        let b = "def check_b():\n    # a comment\n    print(\"Issue reproduced\")\n\n\ncheck_b()\n";
        assert_eq!(normalize_test(a), normalize_test(b));
        assert_eq!(replace_identifier("f(x); fx(f)", "f", "g"), "g(x); fx(g)");
    }

    #[test]
    fn python_block_extraction() {
        let text = "Here:\n```python\nimport x\nprint('Issue reproduced')\n```\nmore\n```python\nother\n```";
        assert_eq!(first_python_block(text).as_deref(), Some("import x\nprint('Issue reproduced')\n"));
        assert_eq!(first_python_block("no code"), None);
        assert_eq!(first_python_block("```\nbare()\n```").as_deref(), Some("bare()\n"));
        assert_eq!(first_python_block("```python\nunclosed()").as_deref(), Some("unclosed()\n"));
    }
}
