//! Serve a script of model answers on loopback until stopped: `scripted-model-server SCRIPT.json`. Prints the
//! base URL to give `agentless --base-url`. Used to record the bundled examples' transcripts.

use std::path::PathBuf;
use std::process::ExitCode;

use agentless_tests::{Script, ScriptedModelServer};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: scripted-model-server SCRIPT.json");
        return ExitCode::from(2);
    };
    let script = match Script::load(&path) {
        Ok(script) => script,
        Err(error) => {
            eprintln!("error: {}: {error}", path.display());
            return ExitCode::from(2);
        }
    };
    let server = ScriptedModelServer::start(script).await;
    println!("{}", server.base_url());
    if tokio::signal::ctrl_c().await.is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
