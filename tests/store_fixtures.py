"""Store fixtures shared by every test directory: SQLite files and a throw-away PostgreSQL cluster.

tests/conftest.py registers this module once as a pytest plugin, so tests/unit, tests/integration
and tests/reliability all use these fixtures (and one session starts at most one PostgreSQL server).

Fixtures
--------
``sqlite_url``
    URL of a new, empty SQLite file in the test's tmp dir.
``postgres_server`` (session)
    A :class:`ThrowawayPostgres` started from the server binaries under
    ``/usr/lib/postgresql/*/bin`` (or on ``PATH``), listening only on a Unix socket in a private
    tmp dir, stopped and deleted at the end of the session. Running as root, the server runs as
    the ``postgres`` user (PostgreSQL refuses root). Skips with the reason when no binaries exist
    (``bash tools/ensure_postgres.sh`` installs them) or the cluster cannot start.
``postgres_url``
    URL of a new, empty database on that server.
``store_url`` (parametrised ``sqlite`` / ``postgres``)
    A new, empty database of each backend: the store tests run against both. The ``postgres``
    case carries the ``postgres`` marker (``-m "not postgres"`` deselects it).
``make_sample_run``
    :func:`sample_run`: a deterministic run record with per-layer and aggregate score rows.

``benchmarks/bench_lookup.py`` loads this module by path to reuse :class:`ThrowawayPostgres`.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: initdb options: a trusted local superuser, UTF-8 in the C locale, no fsync (throw-away data).
_INITDB_OPTIONS = ("-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")


def find_postgres_bindir() -> Path | None:
    """Return the directory holding initdb and pg_ctl (newest major version), or None."""
    dirs = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if dirs:
        return dirs[-1]
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(pg_ctl).parent
    return None


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a tmp dir, reachable only through its Unix socket."""

    def __init__(self, bindir: Path, port: int = 5432) -> None:
        self.bindir = bindir
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="bridgex-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._run_as: list[str] = []
        self._counter = itertools.count(1)
        self.started = False

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a server binary (``initdb``, ``pg_ctl``) in the C locale, as ``postgres`` if root."""
        return subprocess.run(
            [*self._run_as, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            check=False,
        )

    def start(self) -> None:
        """Initialise the cluster and start the server (raises RuntimeError on failure)."""
        if os.geteuid() == 0:
            import pwd

            try:
                user = pwd.getpwnam("postgres")
            except KeyError as err:
                raise RuntimeError("running as root and no 'postgres' user exists") from err
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and no runuser to drop privileges")
            self._run_as = [runuser, "-u", "postgres", "--"]
            os.chown(self.root, user.pw_uid, user.pw_gid)
        init = self._run("initdb", "-D", str(self.data), *_INITDB_OPTIONS)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()[-2000:]}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nlisten_addresses = ''\n"
                f"unix_socket_directories = '{self.root}'\n"
                f"port = {self.port}\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "shared_buffers = 16MB\nmax_connections = 200\n"
            )
        start = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "start")
        if start.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {start.stderr.strip()} {log}")
        self.started = True

    def url(self, database: str = "postgres") -> str:
        """Return the SQLAlchemy URL of ``database`` on this server."""
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            database=database,
            query={"host": str(self.root), "port": str(self.port)},
        ).render_as_string(hide_password=False)

    def create_database(self, prefix: str = "bridgex_test") -> str:
        """Create a new empty database and return its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(
            host=str(self.root), port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sqlite-fixture.db'}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    server = _start_postgres()
    if isinstance(server, str):
        pytest.skip(server)  # pytest keeps the skip: later requests skip without a second try
    yield server
    server.stop()


def _start_postgres() -> ThrowawayPostgres | str:
    """Start a cluster, or return why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'bridgex-chain[postgres]')"
    bindir = find_postgres_bindir()
    if bindir is None:
        return (
            "no PostgreSQL server binaries (initdb/pg_ctl under /usr/lib/postgresql/*/bin); "
            "run `bash tools/ensure_postgres.sh`"
        )
    server = ThrowawayPostgres(bindir)
    try:
        server.start()
    except (RuntimeError, OSError) as err:
        server.stop()
        return f"could not start a throw-away PostgreSQL cluster: {err}"
    return server


@pytest.fixture
def postgres_url(postgres_server: ThrowawayPostgres) -> str:
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store-fixture.db'}"
    else:
        server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
        yield server.create_database()


# ---------------------------------------------------------------------------------- sample runs
#: Languages and bridges of the sample runs (FLORES-200 codes).
SAMPLE_SOURCES = ("swh_Latn", "yor_Latn", "hau_Latn")
SAMPLE_BRIDGES = ("eng_Latn", "fra_Latn", "spa_Latn", "deu_Latn")


def sample_run(
    model: str = "demo/model",
    *,
    started_at: str = "2025-01-01T00:00:00+00:00",
    finished_at: str | None = "2025-01-01T01:00:00+00:00",
    status: str = "complete",
    seed: int = 0,
    layers: int = 4,
    sources: tuple[str, ...] = SAMPLE_SOURCES,
    bridges: tuple[str, ...] = SAMPLE_BRIDGES,
) -> tuple[Any, list[Any]]:
    """A run record and its score rows (per-layer + aggregates), deterministic per ``seed``.

    Entries: (src, src) for every source and (src, eng_Latn). Scores are distinct and derived
    from the seed, so the best bridge differs between seeds.
    """
    import random

    from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow

    rng = random.Random(seed)
    run = RunRecord(
        profile=ModelProfile(model, "rev-1", "llama", layers, 64),
        probe_set="starter",
        probe_set_hash=f"sha256:{seed:08x}",
        languages=[*sources, *bridges],
        bridges=list(bridges),
        params={"top_rate": 0.01, "window": [1, layers - 1], "seed": seed},
        status=status,
        tool_version="0.1.0",
        started_at=started_at,
        finished_at=finished_at,
    )
    rows: list[ScoreRow] = []
    for src in sources:
        for trg in (src, "eng_Latn"):
            for bridge in bridges:
                per_layer = [rng.random() for _ in range(layers)]
                rows.extend(ScoreRow(src, trg, bridge, i, v) for i, v in enumerate(per_layer))
                window = per_layer[1:]
                rows.append(
                    ScoreRow(src, trg, bridge, None, sum(window) / len(window), len(window))
                )
    return run, rows


@pytest.fixture
def make_sample_run() -> Any:
    """The :func:`sample_run` factory."""
    return sample_run
