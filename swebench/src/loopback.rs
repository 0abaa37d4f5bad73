//! The network SWE-bench's psf/requests tests reach, stood in for on the test container's loopback (issue #15):
//! httpbin in a virtualenv of its own in the environment image, serving `httpbin.org` over http and https; the hook
//! in the tests' virtualenv that resolves those names to it and makes connects to the tarpit address time out; the
//! eval-script lines that start it, wait for it, point the tests at it and keep its log. The network stays off.

/// The repository whose tests need these stand-ins.
const REQUESTS: &str = "psf/requests";
/// Versions fixed so the environment image is the same every time it is built.
const HTTPBIN_PACKAGES: &str = "pip==24.2 httpbin==0.10.2 gunicorn==23.0.0";
/// httpbin's own virtualenv, beside the tests' (its Flask and Werkzeug never meet the project's pins).
const HTTPBIN_VENV: &str = "\"$VIRTUAL_ENV-httpbin\"";
/// The same in the eval script, where `set -u` must not stop the script if the variable is missing.
const HTTPBIN_VENV_EVAL: &str = "\"${VIRTUAL_ENV:-}-httpbin\"";
pub const HTTP_PORT: u16 = 58080;
pub const HTTPS_PORT: u16 = 58443;
/// Where the tests point: upstream's default (`HTTPBIN_URL` in the versions that read it), now on loopback.
pub const HTTPBIN_URL: &str = "http://httpbin.org/";
/// The names the tests reach, and the ports of theirs the loopback servers stand in for.
const LOOPBACK_HOSTS: &[(&str, u16, u16)] =
    &[("httpbin.org", 80, HTTP_PORT), ("httpbin.org", 443, HTTPS_PORT), ("www.google.co.uk", 80, HTTP_PORT)];
/// `TARPIT` in requests' tests: "should always fail with a connection timeout".
pub const TARPIT: &str = "10.255.255.1";
const LOG_PATH: &str = "/tmp/agentless-httpbin.log";
/// How long the eval script waits for httpbin to answer.
const STARTUP_SECONDS: u32 = 60;
/// Printed (alone on its line) by the eval script when httpbin did not answer; the tests run anyway.
pub const STARTUP_FAILED: &str = ">>>>> agentless: httpbin did not start";
/// Printed after the test output, before httpbin's log.
pub const LOG_MARKER: &str = ">>>>> agentless: httpbin log";
/// The variables the hook reads (set by the eval script for the test command; the binary reads none of them).
const HOSTS_VAR: &str = "AGENTLESS_LOOPBACK_HOSTS";
const CA_VAR: &str = "AGENTLESS_LOOPBACK_CA";
const TARPIT_VAR: &str = "AGENTLESS_TARPIT";
const HOOK: &str = include_str!("loopback/hook.py");
const WAIT: &str = include_str!("loopback/wait.py");
const HEREDOC_DELIMITER: &str = "EOF_AGENTLESS_LOOPBACK";

/// What `run_instance.log` says about it (a `note:` line).
pub const NOTE: &str = "tests reach no network: httpbin 0.10.2 (gunicorn, its own virtualenv) serves httpbin.org on \
     127.0.0.1 (http on 58080, https on 58443 with a self-signed certificate), and a hook in the tests' virtualenv \
     resolves httpbin.org:80/443 and www.google.co.uk:80 to it, trusts that certificate and makes connects to the \
     tarpit 10.255.255.1 time out (upstream's tests reach the real hosts over the network); its log follows the test \
     output";
/// The `note:` line when httpbin did not answer.
pub const STARTUP_FAILED_NOTE: &str =
    "httpbin did not answer on 127.0.0.1 before the tests: they ran without it (see its log after the test output)";

/// Whether `repo`'s tests get the loopback stand-ins.
pub fn applies(repo: &str) -> bool {
    repo == REQUESTS
}

/// Environment setup (in the tests' virtualenv, network on): httpbin's virtualenv, the certificate, the hook.
pub fn setup_lines() -> Vec<String> {
    vec![
        format!("python -m venv {HTTPBIN_VENV}"),
        // The project's pip constraints are for the project.
        format!("env -u PIP_CONSTRAINT {HTTPBIN_VENV}/bin/python -m pip install {HTTPBIN_PACKAGES}"),
        format!(
            "openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=httpbin.org -addext \
             subjectAltName=DNS:httpbin.org -keyout {HTTPBIN_VENV}/key.pem -out {HTTPBIN_VENV}/cert.pem"
        ),
        format!(
            "python - <<'{HEREDOC_DELIMITER}'\nimport pathlib, sysconfig\nsite = \
             pathlib.Path(sysconfig.get_paths()[\"purelib\"])\nsite.joinpath(\"agentless_loopback.py\").write_text({})\n\
             site.joinpath(\"agentless_loopback.pth\").write_text(\"import agentless_loopback\\n\")\n{HEREDOC_DELIMITER}",
            python_string(HOOK)
        ),
    ]
}

/// Eval-script lines before the test command: start both servers, wait for them (noting a failure), point the tests
/// at them.
pub fn start_lines() -> Vec<String> {
    let server = |port: u16, tls: &str| {
        format!(
            "{HTTPBIN_VENV_EVAL}/bin/gunicorn --bind 127.0.0.1:{port} --worker-class gthread --threads 8 \
             --access-logfile - --error-logfile -{tls} httpbin:app >> {LOG_PATH} 2>&1 &"
        )
    };
    let hosts: Vec<String> =
        LOOPBACK_HOSTS.iter().map(|(name, port, target)| format!("{name}:{port}=127.0.0.1:{target}")).collect();
    vec![
        server(HTTP_PORT, ""),
        "AGENTLESS_HTTPBIN_PIDS=$!".to_owned(),
        server(HTTPS_PORT, &format!(" --certfile {HTTPBIN_VENV_EVAL}/cert.pem --keyfile {HTTPBIN_VENV_EVAL}/key.pem")),
        "AGENTLESS_HTTPBIN_PIDS=\"$AGENTLESS_HTTPBIN_PIDS $!\"".to_owned(),
        format!(
            "{HTTPBIN_VENV_EVAL}/bin/python - http://127.0.0.1:{HTTP_PORT}/get https://127.0.0.1:{HTTPS_PORT}/get \
             {STARTUP_SECONDS} <<'{HEREDOC_DELIMITER}' || echo '{STARTUP_FAILED}'\n{}{HEREDOC_DELIMITER}",
            WAIT
        ),
        format!(
            "export HTTPBIN_URL={HTTPBIN_URL} {HOSTS_VAR}={} {CA_VAR}={HTTPBIN_VENV_EVAL}/cert.pem {TARPIT_VAR}={TARPIT}",
            hosts.join(",")
        ),
    ]
}

/// Eval-script lines after the test output: stop the servers, print their log.
pub fn stop_lines() -> Vec<String> {
    vec!["kill $AGENTLESS_HTTPBIN_PIDS".to_owned(), format!("echo '{LOG_MARKER}'"), format!("cat {LOG_PATH}")]
}

/// Whether the eval script's output says httpbin did not start.
pub fn startup_failed(test_output: &str) -> bool {
    test_output.lines().any(|line| line.trim_end() == STARTUP_FAILED)
}

/// `text` as a Python string literal.
fn python_string(text: &str) -> String {
    let mut literal = String::from("\"");
    for character in text.chars() {
        match character {
            '\\' => literal.push_str("\\\\"),
            '"' => literal.push_str("\\\""),
            '\n' => literal.push_str("\\n"),
            other => literal.push(other),
        }
    }
    literal.push('"');
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_gets_it() {
        assert!(applies("psf/requests"));
        assert!(!applies("django/django"));
    }

    #[test]
    fn startup_failure_is_the_echoed_line_not_its_trace() {
        let traced = format!("+ echo '{STARTUP_FAILED}'\n");
        assert!(!startup_failed(&traced));
        assert!(startup_failed(&format!("{traced}{STARTUP_FAILED}\n")));
    }

    /// Set (to anything non-empty) to fail instead of skipping when `python3` cannot be run; `.ci/run` sets it.
    const REQUIRE_PYTHON: &str = "AGENTLESS_REQUIRE_PYTHON";

    /// The hook in a real interpreter: names and ports mapped, others left alone, the tarpit timing out.
    #[test]
    fn hook_maps_names_and_times_out_the_tarpit() {
        use std::io::Write;
        let check = format!(
            "import socket, sys\n\
             exec(compile(sys.stdin.read(), 'agentless_loopback.py', 'exec'), {{}})\n\
             info = lambda host, port: socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]\n\
             assert info('httpbin.org', 443) == ('127.0.0.1', {HTTPS_PORT}), info('httpbin.org', 443)\n\
             assert info(b'WWW.google.co.uk', '80') == ('127.0.0.1', {HTTP_PORT})\n\
             assert info('httpbin.org', 8080) == ('127.0.0.1', 8080)\n\
             assert info('127.0.0.2', 80) == ('127.0.0.2', 80)\n\
             sock = socket.socket()\n\
             sock.settimeout(0.01)\n\
             try:\n    sock.connect(('{TARPIT}', 80))\nexcept socket.timeout:\n    print('timed out')\n"
        );
        let hosts: Vec<String> =
            LOOPBACK_HOSTS.iter().map(|(name, port, target)| format!("{name}:{port}=127.0.0.1:{target}")).collect();
        let child = std::process::Command::new("python3")
            .args(["-c", &check])
            .env(HOSTS_VAR, hosts.join(","))
            .env(TARPIT_VAR, TARPIT)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(error) => {
                let required = std::env::var_os(REQUIRE_PYTHON).is_some_and(|value| !value.is_empty());
                assert!(!required, "{REQUIRE_PYTHON} is set but python3 cannot be run: {error}");
                let banner = format!(
                    "\n!!!!! SKIPPED hook_maps_names_and_times_out_the_tarpit: python3 cannot be run ({error}); the \
                     loopback hook was NOT checked (set {REQUIRE_PYTHON}=1 to fail instead) !!!!!\n\n"
                );
                let _ = std::io::stderr().write_all(banner.as_bytes());
                return;
            }
        };
        child.stdin.take().unwrap().write_all(HOOK.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "timed out\n");
    }

    #[test]
    fn hook_is_written_verbatim() {
        let literal = python_string("a \"b\" \\n\nc");
        assert_eq!(literal, r#""a \"b\" \\n\nc""#);
    }
}
