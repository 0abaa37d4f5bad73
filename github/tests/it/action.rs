//! Whole runs of the bot against the fake API, a real bare git remote and a fake pipeline.

use agentless_github::{
    ActionError, ActionOutcome, GitError, Permission, PipelineOutcome, PushRemote, run_action_with,
};
use pretty_assertions::assert_eq;

use crate::support::{
    self, Bench, CALC, COMMENT_ID, FIX_PLUS, FIX_SUM, FakePipeline, ISSUE, PULL, TOKEN, body_of, branches, comment,
    git, lines,
};

#[tokio::test]
async fn a_labelled_issue_gets_a_branch_and_a_draft_pull_request() {
    let bench = Bench::new().await;
    let discussion = vec![
        support::comment(1, "reporter", "It also breaks `sum_all`, which calls `add`."),
        support::comment(2, "maintainer", "/agentless"),
    ];
    bench.mount(discussion, false, false).await;
    let pipeline = FakePipeline::patching(FIX_PLUS, bench.run_dir());

    let outcome =
        run_action_with(&bench.env("issues", &support::labeled_event()), &pipeline, &bench.github()).await.unwrap();

    let ActionOutcome::PullRequest { url, number, branch, commit, patch_path, .. } = &outcome else {
        panic!("expected a pull request, got {outcome:?}");
    };
    assert_eq!(
        (url.as_str(), *number, branch.as_str()),
        ("https://github.example/octo/calc/pull/12", PULL, "agentless/issue-7")
    );
    assert_eq!(fs_err::read_to_string(patch_path).unwrap(), FIX_PLUS);

    let calls = bench.calls().await;
    assert_eq!(
        lines(&calls),
        [
            "GET /repos/octo/calc/issues/7/comments?per_page=100&page=1",
            "POST /repos/octo/calc/issues/7/comments",
            "GET /repos/octo/calc/pulls?head=octo%3Aagentless%2Fissue-7&state=open",
            "POST /repos/octo/calc/pulls",
            "PATCH /repos/octo/calc/issues/comments/100",
        ]
    );
    insta::assert_snapshot!("started_comment", body_of(&calls, 1));
    insta::assert_json_snapshot!("draft_pull_request", calls[3].body);
    insta::assert_snapshot!("pull_request_comment", body_of(&calls, 4).replace(&commit[..12], "[COMMIT]"));
    insta::assert_snapshot!("issue_text", pipeline.issue_texts().join("\n=====\n"));
    assert_eq!(pipeline.seen.lock().unwrap()[0].1, bench.workspace);

    // The remote got exactly one new branch: one commit by the bot on top of HEAD, whose diff is the patch.
    assert_eq!(branches(&bench.remote), format!("agentless/issue-7 {commit}\nmain {}", bench.base));
    assert_eq!(git(&bench.remote, &["rev-parse", &format!("{commit}^")]), bench.base);
    assert_eq!(
        git(&bench.remote, &["log", "-1", "--format=%an <%ae>%n%cn%n%B", commit]),
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>\ngithub-actions[bot]\n\
         Fix #7: add() subtracts\n\nProposed by Agentless for issue #7.\n\n\
         Run: https://github.example/octo/calc/actions/runs/4242"
    );
    insta::assert_snapshot!("pushed_diff", git(&bench.remote, &["diff", &bench.base, commit]));
    // The workspace is as it was: same HEAD, clean tree, no new local branch.
    assert_eq!(git(&bench.workspace, &["rev-parse", "HEAD"]), bench.base);
    assert_eq!(git(&bench.workspace, &["status", "--porcelain"]), "");
    assert_eq!(git(&bench.workspace, &["branch", "--format=%(refname:short)"]), "main");
    assert_eq!(fs_err::read_to_string(bench.workspace.join("calc.py")).unwrap(), CALC);

    assert_eq!(
        bench.read("output.txt"),
        format!(
            "patch-path={}\npr-url=https://github.example/octo/calc/pull/12\nbranch=agentless/issue-7\ncost=0.0312\n",
            patch_path.display()
        )
    );
    insta::assert_snapshot!("step_summary", bench.read("summary.md"));
}

#[tokio::test]
async fn every_request_is_authenticated_and_versioned() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let pipeline = FakePipeline::patching(FIX_PLUS, bench.run_dir());
    run_action_with(&bench.env("issues", &support::labeled_event()), &pipeline, &bench.github()).await.unwrap();
    let requests = bench.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 5);
    for request in requests {
        let header = |name: &str| request.headers.get(name).map(|value| value.to_str().unwrap().to_owned());
        assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")));
        assert_eq!(header("x-github-api-version").as_deref(), Some("2022-11-28"));
        assert_eq!(header("accept").as_deref(), Some("application/vnd.github+json"));
        assert!(header("user-agent").unwrap().starts_with("agentless/"));
    }
}

#[tokio::test]
async fn a_comment_from_a_non_member_does_nothing() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let pipeline = FakePipeline::patching(FIX_PLUS, bench.run_dir());

    let outcome =
        run_action_with(&bench.env("issue_comment", &support::comment_event("NONE")), &pipeline, &bench.github())
            .await
            .unwrap();

    assert_eq!(
        outcome,
        ActionOutcome::Skipped {
            reason: "@drive-by is NONE, not an owner, member or collaborator of the repository".to_owned()
        }
    );
    assert_eq!(bench.calls().await, []);
    assert!(pipeline.issue_texts().is_empty());
    assert_eq!(branches(&bench.remote), format!("main {}", bench.base));
    assert_eq!(bench.read("output.txt"), "");
}

#[tokio::test]
async fn a_member_comment_runs_it() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let pipeline = FakePipeline::patching(FIX_PLUS, bench.run_dir());
    let outcome = run_action_with(
        &bench.env("issue_comment", &support::comment_event("COLLABORATOR")),
        &pipeline,
        &bench.github(),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, ActionOutcome::PullRequest { number: PULL, .. }), "{outcome:?}");
}

#[tokio::test]
async fn a_rerun_updates_the_same_branch_pull_request_and_comment() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let env = bench.env("issues", &support::labeled_event());
    let first =
        run_action_with(&env, &FakePipeline::patching(FIX_PLUS, bench.run_dir()), &bench.github()).await.unwrap();
    let ActionOutcome::PullRequest { commit: first_commit, .. } = first else { panic!("{first:?}") };

    let first_calls = bench.calls().await;
    bench.server.reset().await;
    bench.mount(Vec::new(), true, true).await;
    let second =
        run_action_with(&env, &FakePipeline::patching(FIX_SUM, bench.run_dir()), &bench.github()).await.unwrap();
    let ActionOutcome::PullRequest { commit: second_commit, number, .. } = second else { panic!("{second:?}") };

    let calls = bench.calls().await;
    assert_eq!(
        lines(&calls),
        [
            "GET /repos/octo/calc/issues/7/comments?per_page=100&page=1",
            "PATCH /repos/octo/calc/issues/comments/100",
            "GET /repos/octo/calc/pulls?head=octo%3Aagentless%2Fissue-7&state=open",
            "PATCH /repos/octo/calc/pulls/12",
            "PATCH /repos/octo/calc/issues/comments/100",
        ]
    );
    assert_eq!(number, PULL);
    assert_eq!(calls[3].body["title"], "Fix #7: add() subtracts");
    assert!(calls[3].body["body"].as_str().unwrap().starts_with("<!-- agentless:issue-7 -->\nFixes #7\n"));
    assert_eq!(body_of(&calls, 1), body_of(&first_calls, 1));
    assert_ne!(body_of(&calls, 4), body_of(&first_calls, 4));

    // Force-updated: the new commit replaces the old one on top of the same base, not on top of it.
    assert_ne!(first_commit, second_commit);
    assert_eq!(branches(&bench.remote), format!("agentless/issue-7 {second_commit}\nmain {}", bench.base));
    assert_eq!(git(&bench.remote, &["rev-parse", &format!("{second_commit}^")]), bench.base);
    assert_eq!(
        git(&bench.remote, &["show", &format!("{second_commit}:calc.py")]),
        CALC.replacen("return a - b", "return sum((a, b))", 1).trim_end()
    );
}

#[tokio::test]
async fn a_member_comment_on_the_bots_pull_request_runs_again_with_the_notes() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), true, true).await;
    let note = comment(201, "maintainer", "/agentless keep `add` returning an int");
    let by_bot = comment(202, "github-actions[bot]", "<!-- agentless:revision -->\nearlier revision");
    support::mount_pull(&bench.server, "agentless/issue-7", "octo/calc", vec![by_bot, note]).await;
    let pipeline = FakePipeline::patching(FIX_SUM, bench.run_dir());
    let env = bench.env("issue_comment", &support::pull_comment_event("keep `add` returning an int"));
    let outcome = run_action_with(&env, &pipeline, &bench.github()).await.unwrap();
    let ActionOutcome::PullRequest { commit, number, issue, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!((issue, number), (ISSUE, PULL));

    // The issue's own text, then the review on the pull request (the bot's reply left out).
    let texts = pipeline.issue_texts();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].starts_with("add() subtracts\n\n`add(2, 2)` returns 0"), "{}", texts[0]);
    assert!(
        texts[0].ends_with(
            "## Review of an earlier proposed fix (pull request #12)\n\n### @maintainer on 2026-11-20T10:00:00Z\n\n\
             keep `add` returning an int\n"
        ),
        "{}",
        texts[0]
    );
    assert!(!texts[0].contains("earlier revision"));

    let calls = bench.calls().await;
    assert_eq!(
        lines(&calls),
        [
            "GET /repos/octo/calc/pulls/12",
            "GET /repos/octo/calc/issues/7",
            "GET /repos/octo/calc/issues/7/comments?per_page=100&page=1",
            "PATCH /repos/octo/calc/issues/comments/100",
            "GET /repos/octo/calc/issues/12/comments?per_page=100&page=1",
            "GET /repos/octo/calc/pulls?head=octo%3Aagentless%2Fissue-7&state=open",
            "PATCH /repos/octo/calc/pulls/12",
            "PATCH /repos/octo/calc/issues/comments/100",
            "POST /repos/octo/calc/issues/12/comments",
        ]
    );
    assert!(body_of(&calls, 8).contains("ran again with the notes on this pull request"), "{}", body_of(&calls, 8));
    // The same branch, force-updated.
    assert_eq!(branches(&bench.remote), format!("agentless/issue-7 {commit}\nmain {}", bench.base));
}

#[tokio::test]
async fn a_trigger_comment_on_someone_elses_pull_request_does_nothing() {
    let bench = Bench::new().await;
    support::mount_pull(&bench.server, "feature/faster-add", "octo/calc", Vec::new()).await;
    let pipeline = FakePipeline::patching(FIX_SUM, bench.run_dir());
    let env = bench.env("issue_comment", &support::pull_comment_event("please"));
    let outcome = run_action_with(&env, &pipeline, &bench.github()).await.unwrap();
    let ActionOutcome::Skipped { reason } = outcome else { panic!("{outcome:?}") };
    assert_eq!(
        reason,
        "pull request #12 comes from `feature/faster-add`, not from a fix branch `agentless/issue-N` of this repository"
    );
    assert!(pipeline.issue_texts().is_empty());
    assert_eq!(lines(&bench.calls().await), ["GET /repos/octo/calc/pulls/12"]);
}

#[tokio::test]
async fn the_base_branch_and_branch_prefix_settings_are_used() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let mut env = bench.env("issues", &support::labeled_event());
    env.base_branch = Some("develop".to_owned());
    env.branch_prefix = "bot/fix-".to_owned();
    let outcome =
        run_action_with(&env, &FakePipeline::patching(FIX_PLUS, bench.run_dir()), &bench.github()).await.unwrap();
    let ActionOutcome::PullRequest { branch, commit, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(branch, "bot/fix-7");
    assert_eq!(branches(&bench.remote), format!("bot/fix-7 {commit}\nmain {}", bench.base));
    let calls = bench.calls().await;
    let created = calls.iter().find(|call| call.method == "POST" && call.target.ends_with("/pulls")).unwrap();
    assert_eq!((created.body["base"].as_str(), created.body["head"].as_str()), (Some("develop"), Some("bot/fix-7")));
}

#[tokio::test]
async fn a_rejected_push_says_contents_write_is_missing() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let rejecting = bench.dir.path().join("rejecting.git");
    support::bare_remote(&rejecting);
    let hook = rejecting.join("hooks/pre-receive");
    fs_err::write(&hook, format!("#!/bin/sh\necho \"Permission to octo/calc.git denied ({TOKEN}).\" >&2\nexit 1\n"))
        .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&hook).status().unwrap();
    let mut env = bench.env("issues", &support::labeled_event());
    env.push_remote = PushRemote::Url(rejecting.to_str().unwrap().to_owned());

    let error =
        run_action_with(&env, &FakePipeline::patching(FIX_PLUS, bench.run_dir()), &bench.github()).await.unwrap_err();

    assert!(matches!(error, ActionError::Git(GitError::PushRejected { .. })), "{error:?}");
    assert_eq!(error.missing_permission(), Some(Permission::Contents));
    assert!(!error.to_string().contains(TOKEN), "{error}");
    let calls = bench.calls().await;
    assert_eq!(
        lines(&calls),
        [
            "GET /repos/octo/calc/issues/7/comments?per_page=100&page=1",
            "POST /repos/octo/calc/issues/7/comments",
            "PATCH /repos/octo/calc/issues/comments/100",
        ]
    );
    let comment = body_of(&calls, 2);
    assert!(comment.contains("`contents: write`"), "{comment}");
    assert!(!comment.contains(TOKEN), "{comment}");
    insta::with_settings!({ filters => vec![(r"\b[0-9a-f]{40}\b", "[SHA]")] }, {
        insta::assert_snapshot!("push_rejected_comment", bench.scrub(&comment));
    });
    assert_eq!(branches(&rejecting), "");
    assert_eq!(branches(&bench.remote), format!("main {}", bench.base));
}

#[tokio::test]
async fn a_failing_pipeline_is_reported_on_the_issue() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let pipeline = FakePipeline::returning(Err("the model budget of $2.00 is spent".to_owned()));

    let error =
        run_action_with(&bench.env("issues", &support::labeled_event()), &pipeline, &bench.github()).await.unwrap_err();

    assert!(matches!(error, ActionError::Pipeline { .. }), "{error:?}");
    assert_eq!(error.to_string(), "the pipeline failed: the model budget of $2.00 is spent");
    let calls = bench.calls().await;
    assert_eq!(
        lines(&calls),
        [
            "GET /repos/octo/calc/issues/7/comments?per_page=100&page=1",
            "POST /repos/octo/calc/issues/7/comments",
            "PATCH /repos/octo/calc/issues/comments/100",
        ]
    );
    insta::assert_snapshot!("pipeline_failed_comment", body_of(&calls, 2));
    assert_eq!(branches(&bench.remote), format!("main {}", bench.base));
    insta::assert_snapshot!("pipeline_failed_summary", bench.read("summary.md"));
}

#[tokio::test]
async fn no_patch_explains_why_and_shows_the_candidates() {
    let bench = Bench::new().await;
    bench.mount(Vec::new(), false, false).await;
    let pipeline = FakePipeline::returning(Ok(PipelineOutcome {
        patch: None,
        report_markdown: "## Report\n\nno candidate passed the reproduction test\n".to_owned(),
        cost_usd: 0.5,
        run_dir: bench.run_dir(),
        why_no_patch: Some("no candidate made the reproduction test pass".to_owned()),
        best_candidates: vec![FIX_SUM.to_owned(), "diff --git a/x.py b/x.py\n+```\n".to_owned()],
    }));

    let outcome =
        run_action_with(&bench.env("issues", &support::labeled_event()), &pipeline, &bench.github()).await.unwrap();

    assert_eq!(
        outcome,
        ActionOutcome::NoPatch {
            issue: ISSUE,
            comment_url: format!("https://github.example/octo/calc/issues/7#issuecomment-{COMMENT_ID}"),
            cost_usd: 0.5,
            run_dir: bench.run_dir(),
        }
    );
    let calls = bench.calls().await;
    assert_eq!(lines(&calls).len(), 3, "{calls:?}");
    insta::assert_snapshot!("no_patch_comment", body_of(&calls, 2));
    assert_eq!(bench.read("output.txt"), "cost=0.5000\n");
    assert_eq!(branches(&bench.remote), format!("main {}", bench.base));
}
