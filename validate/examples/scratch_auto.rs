use agentless_validate::sandbox::docker::{DockerRuntime, ProjectImageOptions, PythonVersion, WorkerLimits, host_pip_cert};
use agentless_validate::sandbox::{ExecRequest, ProjectFiles, Sandbox, SandboxError, Setup};
#[tokio::main]
async fn main() -> Result<(), SandboxError> {
    let runtime = DockerRuntime::connect(DockerRuntime::new_run_id()).await?;
    let files = ProjectFiles::from_folder(std::path::Path::new("examples/tinyinvoice"))?;
    let cert = host_pip_cert().await;
    println!("cert {cert:?}");
    let image = runtime.project_image(&files, &ProjectImageOptions { python: PythonVersion::Py311, setup: Setup::Auto, pip_cert: cert }).await?;
    println!("{} reused={} {:?}\n{}", image.image, image.reused, image.duration, image.setup_log);
    let worker = runtime.start_worker(&image, &WorkerLimits::default()).await?;
    let out = worker.exec(&ExecRequest::new(["sh", "-c", "python -m pytest -rA -q 2>&1 | tail -15; git status --porcelain --ignored | head"], std::time::Duration::from_secs(120))).await?;
    println!("{}{}", out.stdout, out.stderr);
    worker.reset().await?;
    let out = worker.exec(&ExecRequest::new(["sh", "-c", "python -c 'import tinyinvoice; print(tinyinvoice.__file__)'"], std::time::Duration::from_secs(120))).await?;
    println!("{}{}", out.stdout, out.stderr);
    runtime.shutdown().await?;
    Ok(())
}
