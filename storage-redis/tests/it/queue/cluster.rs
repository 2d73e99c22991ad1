//! The conformance suite's cases for what lives beside the queue (the queue, retention, destinations) on a
//! private three-master Redis Cluster, started from `redis-server` on free loopback ports and killed when the
//! test ends. Nothing here touches the shared Redis.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xwebhook_engine::store::Stores;
use xwebhook_engine::testsuite;
use xwebhook_storage_redis::{RedisConfig, RedisStore};

const MASTERS: usize = 3;
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// The cluster's servers and their directory; dropping it kills them and removes the directory.
struct Cluster {
    ports: Vec<u16>,
    servers: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.kill();
            let _ = server.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nothing listens on right now and not in `taken`. Another process can still take it before the
/// server binds it (tests run in parallel and bind ports of their own): `start_node` then tries again.
fn free_port(taken: &[u16]) -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        if !taken.contains(&port) {
            return port;
        }
    }
}

/// Attempts at starting one node before the test gives up: each lost port race costs one.
const NODE_ATTEMPTS: usize = 5;

impl Cluster {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("xwt-cluster-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        let mut cluster = Self {
            ports: Vec::new(),
            servers: Vec::new(),
            dir,
        };
        for _ in 0..MASTERS {
            cluster.start_node();
        }
        let nodes: Vec<String> = cluster.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("run redis-cli --cluster create");
        assert!(created.success(), "redis-cli --cluster create failed");
        cluster.wait_until(
            |p| info(p).contains("cluster_state:ok"),
            "cluster_state:ok on every node",
        );
        cluster
    }

    /// Starts one node and waits until it answers on its port as itself (its pid, so a server of another
    /// test on that port does not count). A node that exits first lost a port to another process (its port
    /// or its bus port was taken after `free_port` saw it free): it is started again on other ports.
    fn start_node(&mut self) {
        for _ in 0..NODE_ATTEMPTS {
            // The bus port is given explicitly: the default (port + 10000) may be taken or out of range.
            let port = free_port(&self.ports);
            let bus = free_port(&[port]);
            let mut server = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--cluster-port", &bus.to_string()])
                .args(["--bind", "127.0.0.1", "--cluster-enabled", "yes"])
                .arg("--cluster-config-file")
                .arg(self.dir.join(format!("nodes-{port}.conf")))
                .arg("--dir")
                .arg(&self.dir)
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .stdout(Stdio::null())
                .spawn()
                .expect("start redis-server (is it installed?)");
            let deadline = Instant::now() + READY_DEADLINE;
            loop {
                if serves(port, server.id()) {
                    self.servers.push(server);
                    self.ports.push(port);
                    return;
                }
                if server.try_wait().expect("poll redis-server").is_some() {
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = server.kill();
                    panic!("the test cluster's node on port {port} never answered");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("no cluster node started in {NODE_ATTEMPTS} attempts: every port pair was taken");
    }

    fn wait_until(&self, ready: impl Fn(u16) -> bool, what: &str) {
        let deadline = Instant::now() + READY_DEADLINE;
        while !self.ports.iter().all(|&p| ready(p)) {
            assert!(
                Instant::now() < deadline,
                "the test cluster never reached: {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        let nodes: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect();
        nodes.join(",")
    }
}

fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether the server on `port` is the process `pid`.
fn serves(port: u16, pid: u32) -> bool {
    cli(port, &["INFO", "server"]).contains(&format!("process_id:{pid}\r"))
}

fn info(port: u16) -> String {
    cli(port, &["CLUSTER", "INFO"])
}

/// A cluster store under a fresh prefix (the cluster is private: nothing to clean up but the cluster).
async fn store(cluster: &Cluster) -> Stores {
    let mut config = RedisConfig::new(cluster.url());
    config.cluster = true;
    config.prefix = format!("xwt:{}", ulid::Ulid::new());
    config.pool_size = 4;
    let store = RedisStore::connect(config)
        .await
        .expect("connect to the test cluster");
    Stores::from_one(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_conformance_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("start the test cluster");
    testsuite::queue_enqueue_receive_finish(store(&cluster).await).await;
    testsuite::queue_consumers_never_share_tasks(store(&cluster).await).await;
    testsuite::queue_two_receivers_race_for_one_task(store(&cluster).await).await;
    testsuite::queue_reclaims_dead_consumer(store(&cluster).await).await;
    testsuite::queue_finish_adds_follow_up_once(store(&cluster).await).await;
    testsuite::queue_promotes_due_task_exactly_once(store(&cluster).await).await;
    testsuite::queue_receive_waits_and_wakes(store(&cluster).await).await;
    testsuite::queue_fresh_task_passes_a_wave_of_retries(store(&cluster).await).await;
    testsuite::queue_due_retry_passes_a_wave_of_fresh_tasks(store(&cluster).await).await;
    testsuite::queue_batches_of_one_alternate_lanes(store(&cluster).await).await;
    // Endpoint health rides beside the queue, so it must hold on a cluster too.
    testsuite::endpoint_health_streak_keeps_first_failure(store(&cluster).await).await;
    testsuite::endpoint_health_racers_agree(store(&cluster).await).await;
    drop(cluster);
}

/// Retention spans applications, hence slots: each step must stay within one application's slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_conformance_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("start the test cluster");
    testsuite::retention_expires_each_message_by_its_own_period(store(&cluster).await).await;
    testsuite::retention_expiry_batches_respect_limit(store(&cluster).await).await;
    testsuite::prune_removes_old_messages_in_every_tenant(store(&cluster).await).await;
    testsuite::prune_batches_respect_limit(store(&cluster).await).await;
    drop(cluster);
}

/// Destinations live beside the queue, one slot per application: their scripts, the intake's append to all of
/// an application's logs and its withdrawal, and reading a batch's messages with one MGET must hold on a
/// cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_conformance_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("start the test cluster");
    testsuite::sink_crud(store(&cluster).await).await;
    testsuite::sink_uid_conflicts(store(&cluster).await).await;
    testsuite::sinks_are_kept_per_tenant(store(&cluster).await).await;
    testsuite::sink_log_keeps_append_order(store(&cluster).await).await;
    testsuite::sink_log_entries_are_withdrawn(store(&cluster).await).await;
    testsuite::sink_pumps_count_while_alive(store(&cluster).await).await;
    testsuite::sink_lease_is_held_by_one_owner_and_fences_the_old_holder(store(&cluster).await).await;
    testsuite::sink_consumers_keep_their_own_positions(store(&cluster).await).await;
    testsuite::messages_are_read_together(store(&cluster).await).await;
    drop(cluster);
}
