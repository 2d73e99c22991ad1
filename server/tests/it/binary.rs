//! The real `xwebhook` binary as a child process, and a private `redis-server` for tests that must stop one.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::helpers::{DEADLINE, JWT_SECRET};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits until something accepts TCP connections on `port`.
pub async fn wait_listening(port: u16) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on {port}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs `xwebhook <args>` to completion with `env` (and nothing inherited from `XWEBHOOK_*`).
pub async fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xwebhook"));
    cmd.args(args).env("XWEBHOOK_LOG", "warn");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("XWEBHOOK_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run xwebhook")
}

/// A running `xwebhook serve`; killed when dropped.
pub struct Xwebhook {
    child: Child,
    pub port: u16,
}

impl Xwebhook {
    /// Starts the binary with the test defaults (loopback allowed, fast retries) plus `env`, and waits until it
    /// answers.
    pub async fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let server = Self::spawn(data_dir, env);
        server.wait_ready().await;
        server
    }

    /// Starts a process that runs no API (`XWEBHOOK_ROLE=worker` in `env`); there is nothing to wait for.
    pub fn start_worker(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(data_dir, env)
    }

    fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xwebhook"));
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("XWEBHOOK_JWT_SECRET", JWT_SECRET)
            .env("XWEBHOOK_ALLOW_SUBNETS", "127.0.0.0/8")
            .env("XWEBHOOK_RETRY_SCHEDULE", "1,1,1")
            .env("XWEBHOOK_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        Self {
            child: cmd.spawn().expect("start xwebhook"),
            port,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<http_body_util::Empty<bytes::Bytes>>();
        let uri: http::Uri = format!("{}/api/v1/health/ping", self.base())
            .parse()
            .expect("uri");
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let ping = tokio::time::timeout(Duration::from_millis(500), client.get(uri.clone())).await;
            if matches!(ping, Ok(Ok(ref r)) if r.status() == 204) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "xwebhook did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} failed");
    }

    /// Sends SIGTERM and returns whether the process exited 0.
    pub async fn terminate(mut self) -> bool {
        self.signal("-TERM");
        let mut child = std::mem::replace(
            &mut self.child,
            Command::new("true").spawn().expect("placeholder"),
        );
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait")
            .success()
    }

    /// SIGKILL, and reap.
    pub fn kill(mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Xwebhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private `redis-server` without persistence, on a free loopback port; stopped when dropped. Tests that
/// stop or restart Redis use this, never the machine's shared one.
pub struct PrivateRedis {
    child: Child,
    pub port: u16,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    pub async fn start_on(port: u16) -> Self {
        Self::start_with(port, &[]).await
    }

    /// With extra `redis-server` arguments (limits a test needs), on `port`.
    pub async fn start_with(port: u16, extra: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (see README)");
        wait_listening(port).await;
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server at once (its data is gone: it keeps nothing on disk).
    pub fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
