"""Cluster mode (SPEC §7) with real processes: a PostgreSQL server of the test's own and two
`regledger serve --cluster` nodes. One node holds the writer lease; the other follows the shared
log, serves reads from its own state and forwards writes to the writer, answering once it shows
them; when the writer is killed the follower takes the lease within 10 s and carries on with every
acknowledged write."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import ALICE, BIN, Server, ecr_client, make_config, manifest

PASSWORD = "cluster-secret-pw"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(args):
    """Runs a PostgreSQL binary as the postgres user (PostgreSQL refuses root)."""
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/tmp")


def new_postgres_directory(prefix):
    """Debian's PostgreSQL binaries and a new directory the postgres user owns, with the password file."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail("PostgreSQL is not installed (make test installs Debian's postgresql)")
    directory = tempfile.mkdtemp(prefix=prefix)
    with open(directory + "/pw", "w") as f:
        f.write(PASSWORD)
    if os.getuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        shutil.chown(directory + "/pw", "postgres", "postgres")
    return os.path.dirname(bins[-1]), directory


def init_database(bin_dir, directory, data):
    """A new database cluster in `data` with password (SCRAM) authentication."""
    as_postgres([bin_dir + "/initdb", "-D", data, "-U", "postgres", "-A", "scram-sha-256", "--pwfile", directory + "/pw", "--no-sync"])


class Postgres:
    """A server on a free loopback port in a temporary directory, which a test may stop and start."""

    def __init__(self):
        self.bin_dir, self.directory = new_postgres_directory("regledger-pg-")
        self.port = free_port()
        self.data = self.directory + "/data"
        init_database(self.bin_dir, self.directory, self.data)
        self.url = f"postgres://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres"
        self.start()

    def start(self):
        as_postgres([self.bin_dir + "/pg_ctl", "-D", self.data, "-l", self.directory + "/log", "-w", "-o",
                     f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1", "start"])

    def stop(self):
        as_postgres([self.bin_dir + "/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"])


@pytest.fixture
def postgres_server():
    """A PostgreSQL of the test's own; stopped after the test, also on failure."""
    server = Postgres()
    try:
        yield server
    finally:
        if os.path.exists(server.data + "/postmaster.pid"):
            server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture
def postgres(postgres_server):
    """The URL of a PostgreSQL of the test's own."""
    return postgres_server.url


def start_node(tmp_path, cluster, name, config):
    node = Server(tmp_path / name, config=config, extra_args=["--cluster", cluster, "--node", name])
    return node.start()


def start_pair(tmp_path, cluster, config):
    """Node a, once it holds the writer lease, then node b."""
    a = start_node(tmp_path, cluster, "node-a", config)
    wait_for(lambda: health(a)["role"] == "writer", 10, "node-a to take the writer lease")
    return a, start_node(tmp_path, cluster, "node-b", config)


def shut_down(node):
    """Stops a node (SIGTERM), and kills it if it does not stop in time: no test leaves one behind."""
    if node.proc.poll() is None:
        try:
            node.stop(timeout=20)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait(10)
            pytest.fail(f"{node.data} did not stop on SIGTERM within 20 s")


def health(node):
    return requests.get(node.url + "/healthz", timeout=5).json()


def psql(url, sql):
    """Runs `sql` against the cluster's database as its owner."""
    rest = url.split("://", 1)[1]
    credentials, location = rest.split("@", 1)
    user, password = credentials.split(":", 1)
    host_port, database = location.split("/", 1)
    host, port = host_port.split(":")
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", user, "-d", database, "-c", sql],
                   check=True, env=dict(os.environ, PGPASSWORD=password), capture_output=True)


def metric(node, name):
    """The value of an unlabelled metric in the node's /metrics."""
    text = requests.get(node.url + "/metrics", auth=(ALICE["accessKeyId"], ALICE["secretAccessKey"]), timeout=5).text
    values = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    assert values, f"{name} not in /metrics"
    return float(values[0])


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return time.monotonic()
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_two_nodes_share_the_log_and_the_follower_takes_over_when_the_writer_dies(postgres, tmp_path):
    config = make_config()
    a, b = start_pair(tmp_path, postgres, config)
    try:
        assert health(b)["role"] == "follower"
        ecr_a, ecr_b = ecr_client(a), ecr_client(b)
        ecr_a.create_repository(repositoryName="acme/web")
        acknowledged = []
        for i in range(20):
            ecr_a.put_image(repositoryName="acme/web", imageManifest=manifest(i), imageTag=f"v{i}")
            acknowledged.append(f"v{i}")
        head = health(a)["headSeq"]
        # The follower applies the writes within a second, and every answer says which seq it reflects.
        wait_for(lambda: health(b)["appliedSeq"] == head, 1.5, "node-b to apply the writer's appends")
        listed = ecr_b.list_images(repositoryName="acme/web", maxResults=100)
        assert sorted(i["imageTag"] for i in listed["imageIds"]) == sorted(acknowledged)
        assert int(listed["ResponseMetadata"]["HTTPHeaders"]["x-regledger-seq"]) == head
        # A write sent to the follower goes on to the writer with the caller's own signature and
        # is answered once the follower shows it: the client reads its write where it wrote it.
        forwarded = ecr_b.put_image(repositoryName="acme/web", imageManifest=manifest(50), imageTag="via-b")
        acknowledged.append("via-b")
        seq = int(forwarded["ResponseMetadata"]["HTTPHeaders"]["x-regledger-seq"])
        assert seq == health(a)["headSeq"] and health(b)["appliedSeq"] >= seq
        assert "via-b" in {i["imageTag"] for i in ecr_b.list_images(repositoryName="acme/web", maxResults=100)["imageIds"]}
        assert health(b)["role"] == "follower"
        assert metric(b, "regledger_cluster_writer") == 0 and metric(b, "regledger_cluster_replication_lag_records") == 0
        # Refusals come back from the writer as they are (here: a tag that exists, pushed again
        # with another manifest into an immutable repository).
        ecr_b.put_image_tag_mutability(repositoryName="acme/web", imageTagMutability="IMMUTABLE")
        with pytest.raises(ecr_b.exceptions.ImageTagAlreadyExistsException):
            ecr_b.put_image(repositoryName="acme/web", imageManifest=manifest(51), imageTag="v1")
        ecr_b.put_image_tag_mutability(repositoryName="acme/web", imageTagMutability="MUTABLE")
        # The writer dies: the follower takes the lease within 10 s and accepts writes.
        a.proc.kill()
        a.proc.wait(10)
        killed = time.monotonic()
        took = wait_for(lambda: health(b)["role"] == "writer", 10, "node-b to take the writer lease")
        assert took - killed <= 10
        assert metric(b, "regledger_cluster_writer") == 1 and metric(b, "regledger_cluster_lease_changes_total") >= 1
        ecr_b.put_image(repositoryName="acme/web", imageManifest=manifest(100), imageTag="after-failover")
        acknowledged.append("after-failover")
        tags = {i["imageTag"] for i in ecr_b.list_images(repositoryName="acme/web", maxResults=100)["imageIds"]}
        assert tags == set(acknowledged)
        # The old writer comes back as a follower and catches up to the same head.
        a = start_node(tmp_path, postgres, "node-a", config)
        wait_for(lambda: health(a)["appliedSeq"] == health(b)["headSeq"], 10, "node-a to catch up")
        assert health(a)["role"] == "follower" and health(b)["role"] == "writer"
        # The audit tool on a node checks its copy against the cluster's log (the node's DIR
        # records the URL); on its own it walks the cluster's log.
        on_node = subprocess.run([BIN, "audit", "verify", "--data", a.data], capture_output=True, text=True, timeout=120)
        assert on_node.returncode == 0, on_node.stdout + on_node.stderr
        assert "equals the cluster's log" in on_node.stdout and PASSWORD not in on_node.stdout
        whole = subprocess.run([BIN, "audit", "verify", "--cluster", postgres], capture_output=True, text=True, timeout=120)
        assert whole.returncode == 0 and f"head seq {health(b)['headSeq']}" in whole.stdout, whole.stdout + whole.stderr
        # A manifest removed behind the cluster's back is found, with the seq that pushed it.
        psql(postgres, "DELETE FROM regledger_manifests WHERE digest = (SELECT digest FROM regledger_manifests ORDER BY digest LIMIT 1)")
        damaged = subprocess.run([BIN, "audit", "verify", "--cluster", postgres], capture_output=True, text=True, timeout=120)
        assert damaged.returncode == 1 and "FAIL the cluster's log: seq" in damaged.stdout, damaged.stdout + damaged.stderr
    finally:
        for node in (a, b):
            shut_down(node)


def test_a_node_started_on_a_copy_of_a_stopped_follower_copies_only_the_tail_of_the_log(postgres, tmp_path):
    """README, "Adding a node from a peer's copy": stop a follower, copy its DIR, start both."""
    config = make_config()
    a = start_node(tmp_path, postgres, "node-a", config)
    b = c = None
    try:
        wait_for(lambda: health(a)["role"] == "writer", 10, "node-a to take the writer lease")
        ecr = ecr_client(a)
        ecr.create_repository(repositoryName="acme/copied")
        for i in range(30):
            ecr.put_image(repositoryName="acme/copied", imageManifest=manifest(i), imageTag=f"v{i}")
        # A new node with an empty DIR copies the whole log.
        copied = health(a)["headSeq"]
        b = start_node(tmp_path, postgres, "node-b", config)
        assert f"copied {copied} records from the cluster's log" in b.stderr(), b.stderr()
        b.stop()
        shutil.copytree(b.data, tmp_path / "node-c")
        for i in range(30, 33):
            ecr.put_image(repositoryName="acme/copied", imageManifest=manifest(i), imageTag=f"v{i}")
        c = start_node(tmp_path, postgres, "node-c", config)
        b = start_node(tmp_path, postgres, "node-b", config)
        head = health(a)["headSeq"]
        for node in (b, c):
            wait_for(lambda: health(node)["appliedSeq"] == head, 5, f"{node.data} to catch up")
            assert f"copied {head - copied} records from the cluster's log" in node.stderr(), node.stderr()
            assert health(node)["role"] == "follower"
        tags = {i["imageTag"] for i in ecr_client(c).list_images(repositoryName="acme/copied", maxResults=100)["imageIds"]}
        assert tags == {f"v{i}" for i in range(33)}
        ecr_client(c).put_image(repositoryName="acme/copied", imageManifest=manifest(99), imageTag="via-c")
        # Exports from every node are the same, byte for byte, once they hold the same head.
        head = health(a)["headSeq"]
        for node in (b, c):
            wait_for(lambda: health(node)["appliedSeq"] == head, 5, f"{node.data} to follow")
        exports = [subprocess.run([BIN, "export", "--data", node.data], capture_output=True, timeout=60) for node in (a, b, c)]
        assert all(e.returncode == 0 for e in exports), [e.stderr for e in exports]
        assert exports[0].stdout.count(b"\n") == head and exports[0].stdout == exports[1].stdout == exports[2].stdout
    finally:
        for node in (a, b, c):
            if node is not None:
                shut_down(node)


def test_a_bad_cluster_url_or_password_stops_the_node_with_status_2_and_no_secret(postgres, tmp_path):
    wrong = postgres.replace(PASSWORD, "not-the-password")
    for url, expected in [(wrong, "refused"), ("mysql://x@localhost/db", "postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
                          ("postgres://u:hidden-pw@127.0.0.1:1/db", "cannot reach PostgreSQL")]:
        result = subprocess.run([BIN, "serve", "--data", str(tmp_path / "bad"), "--port", "0", "--cluster", url],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr, result.stderr
        assert "not-the-password" not in result.stderr and "hidden-pw" not in result.stderr


def test_followers_forward_writes_to_the_address_the_writer_advertises(postgres, tmp_path):
    """--advertise: the writer publishes the URL given (here a proxy in front of it, as a load
    balancer or another network would put there), and followers send writes to that URL."""
    proxy = Proxy(free_port())
    config = make_config()
    a = Server(tmp_path / "node-a", config=config,
               extra_args=["--cluster", postgres, "--node", "node-a", "--advertise", f"http://127.0.0.1:{proxy.port}/"])
    b = None
    try:
        a.start()
        proxy.switch(a.port)
        assert any(f"takes forwarded writes at http://127.0.0.1:{proxy.port}" in line for line in a.stdout_lines), a.stdout_lines
        wait_for(lambda: health(a)["role"] == "writer", 10, "node-a to take the writer lease")
        b = start_node(tmp_path, postgres, "node-b", config)
        created = ecr_client(b).create_repository(repositoryName="acme/advertised")
        assert created["repository"]["repositoryName"] == "acme/advertised"
        assert proxy.connections, "the follower did not forward through the advertised address"
        assert health(a)["headSeq"] >= int(created["ResponseMetadata"]["HTTPHeaders"]["x-regledger-seq"])
    finally:
        for node in (a, b):
            if node is not None and node.proc is not None:
                shut_down(node)
        proxy.close()


@pytest.mark.parametrize("args,message", [
    (["--advertise", "ftp://10.0.0.5:5000"], "--advertise must be a URL"),
    (["--advertise", "http://10.0.0.5:5000/v2/"], "--advertise must be a URL"),
    (["--host", "0.0.0.0"], "give --advertise http://ADDRESS:PORT"),
])
def test_a_node_that_cannot_say_where_it_takes_writes_does_not_start(tmp_path, args, message):
    result = subprocess.run([BIN, "serve", "--data", str(tmp_path / "d"), "--port", "0",
                             "--cluster", "postgres://u:pw@127.0.0.1:1/db"] + args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "d").exists()
    alone = subprocess.run([BIN, "serve", "--data", str(tmp_path / "d"), "--port", "0", "--advertise", "http://127.0.0.1:1"],
                           capture_output=True, text=True, timeout=60)
    assert alone.returncode == 2 and "--advertise only applies to a cluster node" in alone.stderr, alone.stderr


def test_every_answer_carries_the_seq_it_reflects_and_healthz_the_role(server, ecr):
    """Embedded mode too: one node, always the writer."""
    h = requests.get(server.url + "/healthz")
    body = h.json()
    assert body["role"] == "writer" and body["appliedSeq"] == body["headSeq"]
    assert int(h.headers["x-regledger-seq"]) == body["appliedSeq"]
    refused = requests.post(server.url + "/", data="{}", headers={"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.ListImages"})
    assert refused.status_code == 403 and "x-regledger-seq" in refused.headers
    created = ecr.create_repository(repositoryName=f"seq/{time.monotonic_ns()}")
    assert int(created["ResponseMetadata"]["HTTPHeaders"]["x-regledger-seq"]) >= body["headSeq"] + 1
    assert "x-regledger-seq" in requests.get(server.url + "/v2/").headers


class Proxy:
    """A TCP proxy on a free loopback port standing in for what keeps a cluster's URL pointing at
    the primary (Patroni's HAProxy, PgBouncer, a DNS name): `switch` points it elsewhere and
    drops the connections it carries."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def switch(self, target_port):
        with self.lock:
            self.target = target_port
            for c in self.connections:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                    c.close()
                except OSError:
                    pass
            self.connections = []

    def close(self):
        self.closed = True
        self.listener.close()
        self.switch(self.target)


@pytest.fixture
def replicated_postgres(tmp_path):
    """A primary and a synchronous standby (pg_basebackup -R), behind a proxy; yields a handle
    that can kill the primary and promote the standby."""
    bin_dir, directory = new_postgres_directory("regledger-pgha-")
    primary, standby = directory + "/primary", directory + "/standby"
    ports = {"primary": free_port(), "standby": free_port()}
    init_database(bin_dir, directory, primary)
    options = "-c listen_addresses=127.0.0.1 -c wal_level=replica -c max_wal_senders=4 -c synchronous_standby_names='*'"
    as_postgres([bin_dir + "/pg_ctl", "-D", primary, "-l", directory + "/primary.log", "-w", "-o", f"-p {ports['primary']} -k {directory} {options}", "start"])
    env = dict(os.environ, PGPASSWORD=PASSWORD)
    base = ["pg_basebackup", "-h", "127.0.0.1", "-p", str(ports["primary"]), "-U", "postgres", "-D", standby, "-R", "-X", "stream"]
    if os.getuid() == 0:
        base = ["runuser", "-u", "postgres", "--", "env", f"PGPASSWORD={PASSWORD}"] + [bin_dir + "/pg_basebackup"] + base[1:]
    subprocess.run(base, check=True, env=env, capture_output=True, cwd="/tmp")
    as_postgres([bin_dir + "/pg_ctl", "-D", standby, "-l", directory + "/standby.log", "-w", "-o",
                 f"-p {ports['standby']} -k {directory} -c listen_addresses=127.0.0.1", "start"])
    proxy = Proxy(ports["primary"])

    class Cluster:
        url = f"postgres://postgres:{PASSWORD}@127.0.0.1:{proxy.port}/postgres?sslmode=disable"

        @staticmethod
        def fail_over():
            with open(primary + "/postmaster.pid") as f:
                os.kill(int(f.readline()), 9)
            proxy.switch(ports["standby"])
            as_postgres([bin_dir + "/pg_ctl", "-D", standby, "-w", "promote"])

    try:
        yield Cluster
    finally:
        proxy.close()
        for data in (primary, standby):
            if os.path.exists(data + "/postmaster.pid"):
                subprocess.run((["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []) +
                               [bin_dir + "/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True, cwd="/tmp")
        shutil.rmtree(directory, ignore_errors=True)


def writes_survive_a_failover(cluster_url, tmp_path, fail_over):
    """Two nodes on `cluster_url` take writes (each answered only once acknowledged) while
    `fail_over()` kills the PostgreSQL primary and a standby takes over: writes resume, both nodes
    reach the same head, every acknowledged write is on both, and never two writers."""
    config = make_config()
    a, b = start_pair(tmp_path, cluster_url, config)
    acknowledged, stop = [], threading.Event()
    try:
        ecr_client(a).create_repository(repositoryName="acme/ha")

        def write(node, prefix):
            client = ecr_client(node)
            i = 0
            while not stop.is_set():
                tag = f"{prefix}-{i}"
                try:
                    client.put_image(repositoryName="acme/ha", imageManifest=manifest(hash(tag) % 100000), imageTag=tag)
                    acknowledged.append(tag)  # only once the answer came
                except Exception:
                    time.sleep(0.1)
                i += 1

        writers = [threading.Thread(target=write, args=(node, name)) for node, name in ((a, "a"), (b, "b"))]
        for w in writers:
            w.start()
        time.sleep(1.5)
        before = len(acknowledged)
        fail_over()
        # Writes resume on the promoted standby.
        wait_for(lambda: len(acknowledged) > before + 20, 40, "writes to resume after the failover")
        stop.set()
        for w in writers:
            w.join(30)
        head = max(health(a)["headSeq"], health(b)["headSeq"])
        wait_for(lambda: health(a)["appliedSeq"] == health(b)["appliedSeq"] >= head, 10, f"both nodes to reach the same head {head}: {health(a)} {health(b)}")
        for node in (a, b):
            tags = set()
            token = None
            client = ecr_client(node)
            while True:
                page = client.list_images(repositoryName="acme/ha", maxResults=1000, **({"nextToken": token} if token else {}))
                tags |= {i["imageTag"] for i in page["imageIds"] if "imageTag" in i}
                token = page.get("nextToken")
                if not token:
                    break
            assert set(acknowledged) <= tags, f"lost on {node.data}: {sorted(set(acknowledged) - tags)[:5]}"
        # Never two writers; one again within the lease's 10 s.
        writers_now = lambda: sum(1 for n in (a, b) if health(n)["role"] == "writer")
        assert writers_now() <= 1
        wait_for(lambda: writers_now() == 1, 10, "one node to hold the writer lease")
    finally:
        stop.set()
        for node in (a, b):
            shut_down(node)


class WriteLoad:
    """Concurrent clients pushing into every node of `nodes` (a dict name -> Server that the
    test may update as it restarts nodes), each write recorded only once its answer came."""

    def __init__(self, nodes, repository, per_node=2):
        self.nodes, self.repository, self.per_node = nodes, repository, per_node
        self.acknowledged, self.lock, self.serial = [], threading.Lock(), iter(range(10**9))

    def __enter__(self):
        self.stop, self.threads = threading.Event(), []
        for name in list(self.nodes):
            for _ in range(self.per_node):
                self.threads.append(threading.Thread(target=self.run, args=(name,)))
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(40)

    def run(self, name):
        client, port = None, None
        while not self.stop.is_set():
            node = self.nodes[name]
            if node.port != port:
                client, port = ecr_client(node), node.port
            with self.lock:
                n = next(self.serial)
            tag = f"{name}-{n}"
            try:
                client.put_image(repositoryName=self.repository, imageManifest=manifest(500_000 + n), imageTag=tag)
                with self.lock:
                    self.acknowledged.append(tag)
            except Exception:
                time.sleep(0.1)

    def resumed(self, more=20, timeout=40, what="writes to resume"):
        before = len(self.acknowledged)
        wait_for(lambda: len(self.acknowledged) >= before + more, timeout, what)


def assert_converged(nodes, load):
    """No load running: every node at the same head and state, every acknowledged write on
    every node, exports equal byte for byte, exactly one writer."""
    nodes = list(nodes.values())
    head = max(health(n)["headSeq"] for n in nodes)
    wait_for(lambda: all(health(n)["appliedSeq"] == health(n)["headSeq"] == head for n in nodes), 10,
             f"every node at head {head}: {[health(n) for n in nodes]}")
    for node in nodes:
        tags, token = set(), None
        while True:
            page = ecr_client(node).list_images(repositoryName=load.repository, maxResults=1000, **({"nextToken": token} if token else {}))
            tags |= {i["imageTag"] for i in page["imageIds"] if "imageTag" in i}
            token = page.get("nextToken")
            if not token:
                break
        assert set(load.acknowledged) <= tags, f"lost on {node.data}: {sorted(set(load.acknowledged) - tags)[:5]}"
    exports = [subprocess.run([BIN, "export", "--data", n.data], capture_output=True, timeout=120) for n in nodes]
    assert all(e.returncode == 0 for e in exports) and len({e.stdout for e in exports}) == 1, "the nodes' logs differ"
    assert exports[0].stdout.count(b"\n") == head  # the same head seq and head hash: the last line
    digests = set()
    for n in nodes:
        verified = subprocess.run([BIN, "audit", "verify", "--data", n.data], capture_output=True, text=True, timeout=120)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        digests.add(verified.stdout.split("state digest ")[1].split()[0])
    assert len(digests) == 1, f"state digests differ: {digests}"
    # Never two writers; one again within the lease's 10 s (after a primary failover the writer's
    # lease session died with the old primary, and it takes the lease again after its backoff).
    roles = lambda: [health(n)["role"] for n in nodes]
    assert roles().count("writer") <= 1, roles()
    wait_for(lambda: roles().count("writer") == 1, 10, "one node to hold the writer lease")


def test_three_nodes_under_write_load_survive_killing_the_writer_a_follower_and_the_postgresql_primary(replicated_postgres, tmp_path):
    config = make_config()
    url = replicated_postgres.url
    nodes = {}
    nodes["node-a"] = start_node(tmp_path, url, "node-a", config)
    try:
        wait_for(lambda: health(nodes["node-a"])["role"] == "writer", 10, "node-a to take the writer lease")
        for name in ("node-b", "node-c"):
            nodes[name] = start_node(tmp_path, url, name, config)
        ecr_client(nodes["node-a"]).create_repository(repositoryName="acme/ha")
        load = WriteLoad(nodes, "acme/ha")

        # 1. kill -9 of the writer node: another takes the lease within 10 s; writes go on.
        with load:
            load.resumed(what="the first writes")
            writer = next(name for name, n in nodes.items() if health(n)["role"] == "writer")
            nodes[writer].proc.kill()
            nodes[writer].proc.wait(10)
            killed = time.monotonic()
            took = wait_for(lambda: any(health(n)["role"] == "writer" for name, n in nodes.items() if name != writer), 10,
                            "another node to take the writer lease")
            assert took - killed <= 10
            nodes[writer] = start_node(tmp_path, url, writer, config)  # back, as a follower
            load.resumed(what="writes after the writer died")
        assert_converged(nodes, load)

        # 2. kill -9 of a follower under load, and its restart: it catches up.
        with load:
            load.resumed()
            follower = next(name for name, n in nodes.items() if health(n)["role"] == "follower")
            nodes[follower].proc.kill()
            nodes[follower].proc.wait(10)
            load.resumed(what="writes with a follower down")
            nodes[follower] = start_node(tmp_path, url, follower, config)
            load.resumed(what="writes after the follower came back")
        assert_converged(nodes, load)

        # 3. kill -9 of the PostgreSQL primary; its synchronous standby is promoted.
        with load:
            load.resumed()
            replicated_postgres.fail_over()
            load.resumed(what="writes after the primary failed over")
        assert_converged(nodes, load)
        # New writes are accepted after all three.
        ecr_client(nodes["node-c"]).put_image(repositoryName="acme/ha", imageManifest=manifest(999_999), imageTag="last")
    finally:
        for node in nodes.values():
            shut_down(node)


PATRONI_EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "patroni", "cluster.sh")


@pytest.fixture
def patroni_cluster(tmp_path):
    """The Patroni example (examples/patroni: etcd, two PostgreSQL nodes under Patroni with
    synchronous replication, HAProxy in front of the primary) on free loopback ports; stopped
    after the test, also on failure."""
    ports = {name: free_port() for name in ("ETCD_PORT", "ETCD_PEER_PORT", "PG1_PORT", "PG2_PORT", "API1_PORT", "API2_PORT", "PROXY_PORT")}
    directory = tempfile.mkdtemp(prefix="regledger-patroni-")
    env = dict(os.environ, **{k: str(v) for k, v in ports.items()})
    try:
        started = subprocess.run([PATRONI_EXAMPLE, "start", directory], env=env, capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, started.stdout + started.stderr

        class Cluster:
            url = started.stdout.strip().splitlines()[-1]

            @staticmethod
            def fail_over():
                """Kills the Patroni leader and its PostgreSQL (kill -9): the synchronous standby's
                Patroni takes the leader key once it expires and promotes it; HAProxy follows."""
                leader = next(n for n in (1, 2) if requests.get(f"http://127.0.0.1:{ports[f'API{n}_PORT']}/primary", timeout=5).status_code == 200)
                subprocess.run(["pkill", "-KILL", "-f", f"{directory}/patroni-pg{leader}.yml"], check=True)
                with open(f"{directory}/pg{leader}/postmaster.pid") as f:
                    os.kill(int(f.readline()), 9)

        yield Cluster
    finally:
        subprocess.run([PATRONI_EXAMPLE, "stop", directory], env=env, capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


def test_the_patroni_example_fails_over_and_no_acknowledged_write_is_lost(patroni_cluster, tmp_path):
    assert patroni_cluster.url.startswith("postgres://regledger:") and "/registry" in patroni_cluster.url
    writes_survive_a_failover(patroni_cluster.url, tmp_path, patroni_cluster.fail_over)


def test_with_postgresql_down_reads_are_served_and_flagged_stale_writes_get_503_and_a_killed_follower_catches_up(postgres_server, tmp_path):
    config = make_config()
    a, b = start_pair(tmp_path, postgres_server.url, config)
    try:
        ecr_a, ecr_b = ecr_client(a), ecr_client(b)
        ecr_a.create_repository(repositoryName="acme/down")
        for i in range(5):
            ecr_a.put_image(repositoryName="acme/down", imageManifest=manifest(i), imageTag=f"v{i}")
        wait_for(lambda: health(b)["appliedSeq"] == health(a)["headSeq"], 2, "node-b to follow")
        # A follower killed under writes, and started again, catches up.
        b.proc.kill()
        b.proc.wait(10)
        for i in range(5, 10):
            ecr_a.put_image(repositoryName="acme/down", imageManifest=manifest(i), imageTag=f"v{i}")
        b = start_node(tmp_path, postgres_server.url, "node-b", config)
        ecr_b = ecr_client(b)
        wait_for(lambda: health(b)["appliedSeq"] == health(a)["headSeq"], 5, "the restarted follower to catch up")
        # PostgreSQL goes down: reads keep being served (flagged stale), writes fail fast with 503.
        postgres_server.stop()
        wait_for(lambda: health(b).get("stale") is True and health(a).get("stale") is True, 10, "the nodes to flag their state stale")
        assert len(ecr_b.list_images(repositoryName="acme/down")["imageIds"]) == 10
        for node in (a, b):
            wait_for(lambda: health(node)["role"] == "follower", 15, "the writer to give up its lease")
            refused = requests.post(node.url + "/", data="{}", headers={"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.PutImage"})
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        # It comes back: one node takes the lease again and writes are accepted.
        postgres_server.start()
        wait_for(lambda: any(health(n)["role"] == "writer" for n in (a, b)), 15, "a node to take the lease again")
        writer = a if health(a)["role"] == "writer" else b
        ecr_client(writer).put_image(repositoryName="acme/down", imageManifest=manifest(99), imageTag="back")
        wait_for(lambda: "stale" not in health(a) and "stale" not in health(b), 10, "the stale flags to clear")
        # Each node said why, retried with backoff (ClusterNodeTests pins the schedule) and said when it was back.
        for node in (a, b):
            log = node.stderr()
            assert "cannot reach the cluster's database" in log and "retryingInSeconds=" in log, log[-3000:]
            assert "reached the cluster's database again" in log, log[-3000:]
    finally:
        for node in (a, b):
            shut_down(node)


def test_a_restore_left_activating_by_a_dead_writer_is_completed_by_the_node_that_takes_the_lease(postgres, tmp_path):
    config = make_config(activationDelaySeconds=3)
    a, b = start_pair(tmp_path, postgres, config)
    try:
        ecr_a = ecr_client(a)
        ecr_a.create_repository(repositoryName="acme/restore")
        ecr_a.put_image(repositoryName="acme/restore", imageManifest=manifest(1), imageTag="v1")
        ecr_a.update_image_storage_class(repositoryName="acme/restore", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
        restored = ecr_a.update_image_storage_class(repositoryName="acme/restore", imageId={"imageTag": "v1"}, targetStorageClass="STANDARD")
        assert restored["imageStatus"] == "ACTIVATING"
        a.proc.kill()  # before its 3 s timer completes the restore
        a.proc.wait(10)
        wait_for(lambda: health(b)["role"] == "writer", 10, "node-b to take the writer lease")
        ecr_b = ecr_client(b)
        status = lambda: ecr_b.describe_images(repositoryName="acme/restore", imageIds=[{"imageTag": "v1"}])["imageDetails"][0]["imageStatus"]
        wait_for(lambda: status() == "ACTIVE", 10, "node-b to complete the restore")
    finally:
        for node in (a, b):
            shut_down(node)
