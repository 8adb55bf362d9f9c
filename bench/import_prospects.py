"""Benchmark: import a 1M-row prospects CSV end to end, then check a sample against phonenumbers.

Run as `make bench-import` (BENCH_ARGS="--rows 200000" for a shorter run). It uses its own
database, `outbound_bench` beside the one DATABASE_URL names, dropped and recreated and
migrated at the start. The CSV (seeded, realistic US numbers in mixed formats, ~2 % invalid,
~5 % repeated rows, a second number on ~10 %) is generated under bench/out/ while the database
migrates; generation is not timed. The timed part is `prospects_import` from the first byte
read to the committed transaction. Exits 1 when the sample check finds a mismatch.
"""

import argparse
import cProfile
import multiprocessing
import os
import platform
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import ROOT, drop_database, setup_database  # noqa: E402
from bench.prospect_csv import generate, load_meta, meta_path, suppression_path  # noqa: E402

BENCH_DB = "outbound_bench"
OUT = ROOT / "bench" / "out"
TARGET = 50_000

console = Console(highlight=False)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the CSV")
    parser.add_argument("--sample", type=int, default=100_000, help="rows checked")
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the CSV and the database afterwards; reuse a CSV of the same rows and seed",
    )
    parser.add_argument(
        "--profile", action="store_true", help="run the import under cProfile (slower)"
    )
    return parser.parse_args(argv)


def _generate(path: Path, rows: int, seed: int) -> None:
    generate(path, rows, seed)


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu(pid: int) -> float | None:
    """CPU seconds used so far by the PostgreSQL backend serving us (when it runs here)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(campaign, path: Path, profile: bool) -> tuple[dict, float]:
    from prospects.importing import prospects_import

    profiler = cProfile.Profile() if profile else None
    with (
        Progress(
            TextColumn("[bold]importing"),
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=True,
            refresh_per_second=4,
        ) as bar,
        open(path, "rb") as fh,
    ):
        task = bar.add_task("import", total=path.stat().st_size)
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = prospects_import(
            campaign=campaign,
            fileobj=fh,
            progress=lambda done: bar.update(task, completed=done),
        )
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    if profiler:
        profiler.dump_stats(OUT / "import.prof")
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        console.print(f"profile written to {OUT / 'import.prof'}")
    return result, seconds


def main(argv=None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"prospects-{args.rows}-{args.seed}.csv"

    meta = load_meta(path, args.rows, args.seed) if args.keep else None
    generator = None
    if meta is None:
        # Generate while the database is recreated and migrated (fork: no Django state yet).
        generator = multiprocessing.get_context("fork").Process(
            target=_generate, args=(path, args.rows, args.seed)
        )
        generator.start()
    with console.status(f"migrating {BENCH_DB} and generating {args.rows:,} rows"):
        setup_database(BENCH_DB)
        if generator is not None:
            generator.join()
            if generator.exitcode:
                console.print("[red]generating the CSV failed")
                return 2
            meta = load_meta(path, args.rows, args.seed)
    prepared = time.perf_counter() - began

    from django.db import DatabaseError, connection

    from campaigns.models import Campaign
    from orgs.models import Organization
    from prospects.models import Suppression

    org = Organization.objects.create(name="Bench", slug="bench")
    campaign = Campaign.objects.create(organization=org, name="Bench import")
    suppressed = set(suppression_path(path).read_text().split())
    Suppression.objects.bulk_create(
        [Suppression(organization=org, e164=e, reason="dnc", source="bench") for e in suppressed],
        batch_size=5000,
    )
    with connection.cursor() as cur:
        try:
            cur.execute("CHECKPOINT")  # start the timed part without a pending checkpoint
        except DatabaseError:
            pass  # needs superuser or pg_checkpoint
        cur.execute("SELECT version(), pg_backend_pid()")
        pg_version, backend = cur.fetchone()
        pg_version = pg_version.split(" on ")[0]

    rss_before = rss_mib()
    cpu_before, backend_before = own_cpu(), backend_cpu(backend)
    result, seconds = timed_import(campaign, path, args.profile)
    peak = peak_rss_mib()
    importer_cpu, backend_after = own_cpu() - cpu_before, backend_cpu(backend)
    server_cpu = (
        f"{backend_after - backend_before:.1f} s"
        if backend_before is not None and backend_after is not None
        else "n/a"
    )
    rate = args.rows / seconds

    from bench.prospect_verify import verify

    checked_at = time.perf_counter()
    with console.status(f"checking {args.sample:,} sampled rows against phonenumbers"):
        v = verify(
            campaign=campaign,
            path=path,
            rows=args.rows,
            sample=args.sample,
            seed=args.seed,
            result=result,
            suppressed=suppressed,
        )
    checked = time.perf_counter() - checked_at

    table = Table(title=f"prospect import, {args.rows:,}-row CSV", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, value in (
        ("rows in file", f"{args.rows:,}"),
        ("  generated: invalid / repeated / with phone2", _generated(meta)),
        ("imported (queued)", f"{result['imported']:,}"),
        ("suppressed", f"{result['suppressed']:,}"),
        ("duplicates", f"{result['duplicates']:,}"),
        ("errors", f"{result['error_count']:,}"),
        ("seconds", f"{seconds:.2f}"),
        ("rows/s", f"{rate:,.0f}" + ("" if rate >= TARGET else f"  (target {TARGET:,})")),
        ("CPU: importer / PostgreSQL backend", f"{importer_cpu:.1f} s / {server_cpu}"),
        ("RSS before import", f"{rss_before:.0f} MiB"),
        ("peak RSS (ru_maxrss)", f"{peak:.0f} MiB"),
        ("sample checked (valid / invalid)", f"{v.sampled:,} ({v.valid:,} / {v.invalid:,})"),
        ("mismatches", f"{v.mismatches}" + ("" if v.mismatches else " ✓")),
    ):
        table.add_row(label, value)
    console.print(table)
    for example in v.examples:
        console.print(f"[red]mismatch:[/red] {example}", markup=True)

    cpu = f"{os.cpu_count()} cores"
    console.print("\nFor the README:\n", style="bold")
    print(
        f"| prospect import, {args.rows:,}-row CSV (E.164, dedupe, suppression, time zones) "
        f"| {rate:,.0f} rows/s ({seconds:.1f} s); peak RSS {peak:.0f} MiB; "
        f"{v.mismatches} mismatches against phonenumbers in a {v.sampled:,}-row sample |"
    )
    print(
        f"\n({result['imported']:,} imported, {result['suppressed']:,} suppressed, "
        f"{result['duplicates']:,} duplicates, {result['error_count']:,} errors; CPU: importer "
        f"{importer_cpu:.1f} s, PostgreSQL backend {server_cpu}; "
        f"{cpu}, Python {platform.python_version()}, {pg_version})"
    )

    if not args.keep:
        drop_database(BENCH_DB)
        for p in (path, suppression_path(path), meta_path(path)):
            p.unlink(missing_ok=True)
    total = time.perf_counter() - began
    console.print(
        f"\nbench took {total:.0f} s: setup and generation {prepared:.0f} s, "
        f"import {seconds:.0f} s, check {checked:.0f} s"
    )
    return 1 if v.mismatches else 0


def _generated(meta: dict | None) -> str:
    if not meta:
        return "?"
    return f"{meta['invalid']:,} / {meta['duplicates']:,} / {meta['with_phone2']:,}"


if __name__ == "__main__":
    sys.exit(main())
