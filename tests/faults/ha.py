"""Private high-availability plumbing on loopback for the tests: a Redis primary with a replica and three
sentinels, PgBouncer in transaction mode in front of the shared PostgreSQL, and a RabbitMQ virtual host.

Each is a context manager that starts its processes in a folder of its own (free ports) and stops them on the
way out, so the machine's shared services are never disturbed.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

from sandbox.processes import free_port

SERVICE = "connector-primary"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _wait(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=False, timeout=10
    )
    return done.stdout.strip()


class SentinelGroup:
    """A primary, one replica and three sentinels watching them (quorum 2, down after 1 s)."""

    def __init__(self, folder: Path, db: int = 0):
        self.folder = folder
        self.primary, self.replica = free_port(), free_port()
        self.sentinels = [free_port() for _ in range(3)]
        self.url = "sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.sentinels) + f"/{db}?service_name={SERVICE}"

    def _redis(self, port: int, *extra: str) -> None:
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--dbfilename",
                f"dump-{port}.rdb",
                "--pidfile",
                str(self.folder / f"redis-{port}.pid"),
                "--logfile",
                str(self.folder / f"redis-{port}.log"),
                *extra,
            ],
            check=True,
        )

    def start(self) -> "SentinelGroup":
        self.folder.mkdir(parents=True, exist_ok=True)
        self._redis(self.primary)
        self._redis(self.replica, "--replicaof", "127.0.0.1", str(self.primary))
        for port in self.sentinels:
            conf = self.folder / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndaemonize yes\ndir {self.folder}\n"
                f"pidfile {self.folder / f'sentinel-{port}.pid'}\nlogfile {self.folder / f'sentinel-{port}.log'}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
            )
            subprocess.run(["redis-server", str(conf), "--sentinel"], check=True)
        _wait(lambda: "master_link_status:up" in _cli(self.replica, "info", "replication"), "the replica to sync")
        _wait(self._sentinels_agree, "the sentinels to see the replica and each other")
        return self

    def _sentinels_agree(self) -> bool:
        for port in self.sentinels:
            info = _cli(port, "sentinel", "master", SERVICE).split("\n")
            fields = dict(zip(info[::2], info[1::2], strict=False))
            if fields.get("num-slaves") != "1" or fields.get("num-other-sentinels") != "2":
                return False
        return True

    def primary_port(self) -> int:
        """The port of the primary the sentinels name now."""
        return int(_cli(self.sentinels[0], "sentinel", "get-master-addr-by-name", SERVICE).split("\n")[1])

    def kill_primary(self) -> int:
        """SIGKILL the current primary (no goodbye to its clients); returns the port of the one that takes over."""
        old = self.primary_port()
        pid = int((self.folder / f"redis-{old}.pid").read_text())
        os.kill(pid, 9)
        _wait(lambda: self._promoted_everywhere(old), "the sentinels to promote the replica", timeout=60)
        return self.primary_port()

    def _promoted_everywhere(self, old: int) -> bool:
        """Every sentinel names the same new primary and it answers as one: a client may ask any sentinel."""
        try:
            named = {int(_cli(port, "sentinel", "get-master-addr-by-name", SERVICE).split("\n")[1])
                     for port in self.sentinels}
            if len(named) != 1 or old in named:
                return False
            return _cli(named.pop(), "role").split("\n")[0] == "master"
        except (IndexError, ValueError, subprocess.SubprocessError, OSError):
            return False

    def stop(self) -> None:
        for port in [*self.sentinels, self.primary, self.replica]:
            pidfile = self.folder / f"{'sentinel' if port in self.sentinels else 'redis'}-{port}.pid"
            with contextlib.suppress(OSError, ValueError):  # already gone (the killed primary)
                os.kill(int(pidfile.read_text()), 15)

    def __enter__(self) -> "SentinelGroup":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def pgbouncer(folder: Path, database_url: str):
    """PgBouncer in transaction mode in front of the server of `database_url`; yields the same URL through it."""
    parts = urllib.parse.urlparse(database_url)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = parts.username or "postgres"
    (folder / "userlist.txt").write_text(f'"{user}" ""\n"pgbouncer_admin" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={parts.hostname or '127.0.0.1'} port={parts.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 20\n"
        "ignore_startup_parameters = extra_float_digits\nadmin_users = pgbouncer_admin\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
    )
    runner = []
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres", "postgres")
        folder.parent.chmod(0o755)
        runner = ["runuser", "-u", "postgres", "--"]
    proc = subprocess.Popen([*runner, PGBOUNCER, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _listening(port) or proc.poll() is not None, "PgBouncer to listen")
        if proc.poll() is not None:
            raise RuntimeError(f"PgBouncer did not start:\n{(folder / 'pgbouncer.log').read_text()[-2000:]}")
        yield urllib.parse.urlunparse(parts._replace(netloc=f"{user}@127.0.0.1:{port}"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def pgbouncer_transactions(url: str) -> int:
    """How many transactions PgBouncer carried to the database of `url` (its admin console's SHOW STATS)."""
    parts = urllib.parse.urlparse(url)
    console = parts._replace(netloc=f"pgbouncer_admin@{parts.hostname}:{parts.port}", path="/pgbouncer")
    admin = urllib.parse.urlunparse(console)
    with psycopg.connect(admin, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        cursor = conn.execute("SHOW STATS")
        rows, columns = cursor.fetchall(), [c.name for c in cursor.description]
    stats = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    return int(stats.get(parts.path.lstrip("/"), {}).get("total_xact_count", 0))


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def stop_leftovers(folder: Path) -> None:
    """Stop the daemons whose pid files are under `folder` (Redis, sentinels, PgBouncer) if they still run
    from there: what a scenario killed before its own clean-up leaves behind."""
    for pidfile in folder.rglob("*.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().strip())
            where = os.readlink(f"/proc/{pid}/cwd") + Path(f"/proc/{pid}/cmdline").read_text()
            if str(folder) in where:
                os.kill(pid, 15)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60)


@contextmanager
def rabbitmq_vhost(base: str = "amqp://guest:guest@127.0.0.1:5672"):
    """A virtual host of its own on the machine's RabbitMQ (queue names never meet another run's); yields its
    broker URL and deletes it afterwards."""
    name = f"connector-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"{base}/{name}"
    finally:
        _rabbitmqctl("delete_vhost", name)


def rabbitmq_queue_types(broker_url: str) -> dict[str, str]:
    """The queues of the virtual host of `broker_url` and their types (classic, quorum)."""
    vhost = urllib.parse.unquote(urllib.parse.urlparse(broker_url).path.lstrip("/"))
    done = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type", "--no-table-headers"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return dict(line.split()[:2] for line in done.stdout.splitlines() if line.strip())


if __name__ == "__main__":  # python -m tests.faults.ha COMMAND…: COMMAND with a RabbitMQ virtual host as its broker
    with rabbitmq_vhost() as url:
        sys.exit(subprocess.run(sys.argv[1:], env={**os.environ, "CELERY_BROKER_URL": url}, check=False).returncode)
