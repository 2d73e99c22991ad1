//! One deployment of the server under test for one suite run: fresh storage (a temporary data directory, a fresh
//! Redis key prefix, a fresh Postgres schema), one or more processes, a token; stopped with SIGTERM and cleaned
//! up afterwards.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

use crate::api::Api;
use crate::cli::{Backend, SuiteArgs};

const READY_WITHIN: Duration = Duration::from_secs(60);
const STOP_WITHIN: Duration = Duration::from_secs(30);

/// What a run needs from its deployment.
pub struct Options<'a> {
    pub backend: Backend,
    /// 1, or 2 for a second `worker` process sharing the same storage.
    pub processes: usize,
    /// Extra server settings of this run (e.g. a short retry schedule).
    pub env: &'a [(&'a str, &'a str)],
}

pub struct Deployment {
    pub url: String,
    pub token: String,
    children: Vec<Child>,
    data_dir: tempfile::TempDir,
    redis: Option<(String, String)>,
    postgres: Option<(String, String)>,
}

impl Deployment {
    pub async fn start(args: &SuiteArgs, options: &Options<'_>) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new().prefix("xwlt-").tempdir()?;
        let name = unique_name();
        let uses_redis = options.backend != Backend::Embedded;
        let mut deployment = Self {
            url: String::new(),
            token: String::new(),
            children: Vec::new(),
            redis: uses_redis.then(|| (args.redis_url.clone(), name.clone())),
            postgres: (options.backend == Backend::Postgres)
                .then(|| (args.database_url.clone(), name.clone())),
            data_dir,
        };
        // From here on, a failure still stops what started and cleans up.
        match deployment.launch(args, options).await {
            Ok(()) => Ok(deployment),
            Err(e) => {
                deployment.stop().await;
                Err(e)
            }
        }
    }

    async fn launch(&mut self, args: &SuiteArgs, options: &Options<'_>) -> anyhow::Result<()> {
        let secret = format!("loadtest-suite-{}", unique_name());
        let mut env: Vec<(String, String)> = vec![
            ("XWEBHOOK_ALLOW_SUBNETS".into(), "127.0.0.0/8".into()),
            ("XWEBHOOK_LOG".into(), "warn".into()),
            ("XWEBHOOK_JWT_SECRET".into(), secret),
        ];
        if let Some((url, prefix)) = &self.redis {
            env.push(("XWEBHOOK_REDIS_URL".into(), url.clone()));
            env.push(("XWEBHOOK_REDIS_PREFIX".into(), prefix.clone()));
        }
        if let Some((url, schema)) = &self.postgres {
            env.push(("XWEBHOOK_DATABASE_URL".into(), url.clone()));
            env.push(("XWEBHOOK_DATABASE_SCHEMA".into(), schema.clone()));
        }
        env.extend(options.env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let dir = self.data_dir.path().to_owned();
        for process in 0..options.processes.max(1) {
            let role = if process == 0 { "all" } else { "worker" };
            let port = free_port()?;
            let data = dir.join(format!("p{process}"));
            let child = spawn(&args.server_bin, &env, &data, port, role)?;
            self.children.push(child);
            // A worker-only process serves no HTTP: only the first one can be probed; `check_alive` covers the rest.
            if process == 0 {
                self.url = format!("http://127.0.0.1:{port}");
                self.token = token(&args.server_bin, &env, &data).await?;
                self.wait_ready(port, &data).await?;
            }
        }
        Ok(())
    }

    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().filter_map(Child::id).collect()
    }

    async fn wait_ready(&mut self, port: u16, data: &Path) -> anyhow::Result<()> {
        let api = Api::new(&format!("http://127.0.0.1:{port}"), "");
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            if api.health().await.is_ok() {
                return Ok(());
            }
            let exited = self
                .children
                .iter_mut()
                .any(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited || tokio::time::Instant::now() >= deadline {
                let log = std::fs::read_to_string(log_path(data)).unwrap_or_default();
                bail!("the server on port {port} did not become ready:\n{log}");
            }
        }
    }

    /// Fails when a process has exited (a worker that died would silently halve a two-process run).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for (i, child) in self.children.iter_mut().enumerate() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(log_path(&self.data_dir.path().join(format!("p{i}"))));
                bail!(
                    "server process {i} exited ({status}):\n{}",
                    log.unwrap_or_default()
                );
            }
        }
        Ok(())
    }

    /// SIGTERM, wait, then drop the storage; problems are reported, not fatal.
    pub async fn stop(mut self) {
        for child in &mut self.children {
            stop(child).await;
        }
        if let Some((url, prefix)) = &self.redis {
            let script = "local c = '0' repeat local r = redis.call('SCAN', c, 'MATCH', ARGV[1], 'COUNT', 1000) \
                          c = r[1] for _, k in ipairs(r[2]) do redis.call('UNLINK', k) end until c == '0'";
            let pattern = format!("*{prefix}*");
            shell("redis-cli", &["-u", url, "EVAL", script, "0", &pattern]).await;
        }
        if let Some((url, schema)) = &self.postgres {
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            shell("psql", &[url, "-q", "-c", &sql]).await;
        }
    }
}

fn spawn(bin: &Path, env: &[(String, String)], data: &Path, port: u16, role: &str) -> anyhow::Result<Child> {
    std::fs::create_dir_all(data)?;
    let log = std::fs::File::create(log_path(data))?;
    let mut command = server_command(bin, env, data);
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--role", role])
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    command
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))
}

/// The server binary with exactly our settings: none inherited from the caller's environment.
fn server_command(bin: &Path, env: &[(String, String)], data: &Path) -> Command {
    let mut command = Command::new(bin);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("XWEBHOOK_")) {
        command.env_remove(key);
    }
    command.envs(env.iter().cloned()).arg("--data-dir").arg(data);
    command
}

async fn token(bin: &Path, env: &[(String, String)], data: &Path) -> anyhow::Result<String> {
    let out = server_command(bin, env, data)
        .args(["jwt", "generate"])
        .output()
        .await?;
    if !out.status.success() {
        bail!("jwt generate failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        shell("kill", &["-TERM", &pid.to_string()]).await;
    }
    if tokio::time::timeout(STOP_WITHIN, child.wait()).await.is_err() {
        eprintln!("the server did not stop within {STOP_WITHIN:?} of SIGTERM; killing it");
        let _ = child.kill().await;
    }
}

/// Runs a helper command; a failure is printed, since cleaning up must not hide the run's own result.
async fn shell(program: &str, args: &[&str]) {
    match Command::new(program).args(args).output().await {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => eprintln!("cannot run {program}: {e}"),
    }
}

fn log_path(data: &Path) -> PathBuf {
    data.join("server.log")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A name no other run uses: a Redis prefix, a Postgres schema (lower-case identifier).
fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("xwlt_{}_{nanos}", std::process::id())
}
