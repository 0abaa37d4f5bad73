//! The push alone over HTTP: the token goes in one Authorization header (replacing the one actions/checkout
//! persisted), never on the command line or in errors; a 403 names `contents: write`.

use agentless_github::git::{PushTarget, push_fix};
use agentless_github::{GitError, PushRemote, Token};
use base64::Engine;
use pretty_assertions::assert_eq;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Bench, FIX_PLUS, TOKEN, git};

#[tokio::test]
async fn an_http_push_sends_only_the_token_and_a_403_names_contents_write() {
    let bench = Bench::new().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/octo/calc.git/info/refs"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    // What actions/checkout leaves in the local config.
    let checkout_key = format!("http.{}/.extraheader", server.uri());
    git(&bench.workspace, &["config", "--local", &checkout_key, "AUTHORIZATION: basic Y2hlY2tvdXQ="]);
    let patch = bench.dir.path().join("fix.patch");
    fs_err::write(&patch, FIX_PLUS).unwrap();
    let remote = PushRemote::Url(format!("{}/octo/calc.git", server.uri()));
    let token = Token::new(TOKEN.to_owned());

    let error =
        push_fix(&bench.workspace, &patch, "agentless/issue-7", "Fix", PushTarget { remote: &remote, token: &token })
            .await
            .unwrap_err();

    let GitError::PushRejected { branch, output } = &error else { panic!("{error:?}") };
    assert_eq!(branch, "agentless/issue-7");
    assert!(output.contains("403"), "{output}");
    assert!(error.to_string().contains("`contents: write`"), "{error}");
    let requests = server.received_requests().await.unwrap();
    assert!(!requests.is_empty());
    let expected =
        format!("basic {}", base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}")));
    for request in &requests {
        let sent: Vec<_> =
            request.headers.get_all("authorization").iter().map(|value| value.to_str().unwrap()).collect();
        assert_eq!(sent, [expected.as_str()]);
    }
    // Nothing was left behind in the workspace: same HEAD, clean tree, the checkout header untouched.
    assert_eq!(git(&bench.workspace, &["rev-parse", "HEAD"]), bench.base);
    assert_eq!(git(&bench.workspace, &["status", "--porcelain"]), "");
    assert_eq!(git(&bench.workspace, &["config", "--get-all", &checkout_key]), "AUTHORIZATION: basic Y2hlY2tvdXQ=");
}
