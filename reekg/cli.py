"""The ``reekg`` command: one CLI whose subcommands mirror the service."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from reekg import formats
from reekg import settings as settings_registry
from reekg.errors import ReekgError, details
from reekg.settings import SettingsError


def _settings(ctx: click.Context, **overrides: Any) -> dict[str, Any]:
    try:
        return settings_registry.load({**ctx.obj.get("overrides", {}), **overrides})
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def _fail(exc: ReekgError) -> NoReturn:
    """``error: message`` and a line per detail (a problem's ``file:line``, a parameter, the closest ids)."""
    click.echo(f"error: {exc.message}", err=True)
    for detail in details(exc):
        click.echo("  " + (detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)), err=True)
    sys.exit(1)


class _Main(click.Group):
    """The ``reekg`` group: every ReekgError a command raises ends here, the one place, as :func:`_fail`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReekgError as exc:
            _fail(exc)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", help="Folder of built stores [REEKG_HOME].")
@click.option("--base-iri", help="Base of minted IRIs [REEKG_BASE_IRI].")
@click.option("--data-dir", help="Curated tables to build from [REEKG_DATA_DIR].")
@click.version_option(package_name="reekg")
@click.pass_context
def main(ctx: click.Context, home: str | None, base_iri: str | None, data_dir: str | None) -> None:
    """reekg — the Rare-Earth Element Knowledge Graph."""
    ctx.ensure_object(dict)
    ctx.obj["overrides"] = {"home": home, "base_iri": base_iri, "data_dir": data_dir}


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the settings table of the README instead.")
@click.pass_context
def show_settings(ctx: click.Context, markdown: bool) -> None:
    """Show every setting: its value here, where it comes from, and what it does."""
    values = _settings(ctx)
    if markdown:
        click.echo("| setting | environment | default | what |")
        click.echo("| --- | --- | --- | --- |")
        for s in settings_registry.REGISTRY:
            default = ("`$XDG_DATA_HOME/reekg` (`~/.local/share/reekg`)" if s.name == "home"
                       else f"`{s.default}`" if s.default != "" else "empty")
            click.echo(f"| `{s.name}` | `{s.env}` | {default} | {s.help} |")
        return
    secret = {"update_token", "remote_password"}  # shown as set or not, never printed
    rows = [[s.name, ("(set)" if values[s.name] else "") if s.name in secret else values[s.name], s.env]
            for s in settings_registry.REGISTRY]
    _table(["setting", "value", "environment"], rows)


@main.command()
@click.option("--add", "extra", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A partner RDF file to load with the tables (repeatable).")
@click.option("--drop-partner-graphs", is_flag=True,
              help="Do not carry over the partner graphs of the current store (files added earlier, service writes).")
@click.option("--validate", "validation", type=click.Choice(["full", "incremental", "none"]), default="full",
              show_default=True, help="SHACL: every node, only the nodes the --add files touch, or none (a bulk "
                                      "load validated apart with `reekg validate`).")
@click.option("--json", "as_json", is_flag=True, help="Print the build manifest as JSON.")
@click.pass_context
def build(ctx: click.Context, extra: tuple[Path, ...], drop_partner_graphs: bool, validation: str,
          as_json: bool) -> None:
    """Build the graph from the tables, validate it and make it the current store.

    Partner graphs of the current store (earlier --add files, writes through the service) are carried
    over and validated again, unless --drop-partner-graphs; an --add file replaces its graph of the same name.
    """
    from reekg.loaders.build import build as run_build

    settings = _settings(ctx)
    result = run_build(settings, extra_rdf=extra, progress=sys.stderr.isatty(),
                       keep_partner_graphs=not drop_partner_graphs, validation=validation)
    if as_json:
        click.echo(json.dumps(result.manifest, indent=2))
        return
    m = result.manifest
    click.echo(f"built {m['build_id']} in {m['timings_s']['total']:.2f} s")
    click.echo(f"store: {result.store_path or 'remote SPARQL store at ' + settings['remote_query_url']}")
    click.echo(result.report.summary())
    for problem in result.report.warnings:
        click.echo(f"  warning: {problem}")
    click.echo(f"\n{m['quads']} quads; {m['inferred']} inferred")
    _table(["graph", "triples"], [[g, n] for g, n in m["triples_per_graph"].items()])
    click.echo()
    _table(["class", "instances"], [[c, n] for c, n in m["instances_per_class"].items()])


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Validate tables (a folder or one of its CSV files) and RDF files without writing anything.

    RDF files are checked together with the curated tables, as a build would load them.
    Exits 1 if anything violates a shape.
    """
    from reekg.loaders.build import METADATA_FILE, assemble, load_shapes
    from reekg.loaders.namespaces import Namespaces
    from reekg.loaders.validation import validate as run_validate

    settings = _settings(ctx)
    data_dir = Path(settings["data_dir"]) if settings["data_dir"] else None
    extra = []
    for path in paths:
        if path.is_dir() or path.suffix == ".csv" or path.name == METADATA_FILE:
            data_dir = path if path.is_dir() else path.parent
        else:
            extra.append(path)
    ns = Namespaces(settings["base_iri"])
    assembled = assemble(ns, data_dir, extra)
    report = run_validate(assembled.union(), load_shapes(ns), assembled.locate)
    for problem in report.problems:
        click.echo(f"{problem.severity.lower()}: {problem}", err=not report.conforms)
    click.echo(report.summary())
    sys.exit(0 if report.conforms else 1)


@main.command("check-ontology")
@click.option("--with-data/--ontology-only", default=True, help="Reason over the curated data too.")
@click.pass_context
def check_ontology(ctx: click.Context, with_data: bool) -> None:
    """Check the ontology: HermiT consistency and satisfiability, and the QC queries."""
    from reekg.loaders.build import assemble, load_ontology
    from reekg.loaders.namespaces import Namespaces
    from reekg.ontology import hermit, qc_queries

    ns = Namespaces(_settings(ctx)["base_iri"])
    ontology = load_ontology(ns)
    checks = qc_queries()
    failures = {name: rows for name, text in checks.items() if (rows := list(ontology.query(text)))}
    click.echo(f"QC: {len(checks)} queries, {len(failures)} with rows")
    for name, rows in failures.items():
        click.echo(f"qc {name}: {len(rows)} row(s)", err=True)
        for row in rows[:20]:
            click.echo(f"  {row}", err=True)
    graph = ontology
    if with_data:
        graph = assemble(ns).union()
    started = time.perf_counter()
    try:
        report = hermit.check_consistency(graph)
    except hermit.ReasonerError as exc:
        raise click.ClickException(f"HermiT could not run: {exc}") from None
    elapsed = time.perf_counter() - started
    click.echo(f"HermiT ({elapsed:.1f} s) on {len(graph)} triples: "
               f"{'consistent' if report.consistent else 'INCONSISTENT'}; "
               f"{len(report.unsatisfiable)} unsatisfiable class(es)")
    for iri in report.unsatisfiable:
        click.echo(f"  unsatisfiable: {iri}", err=True)
    if report.message:
        click.echo(f"  {report.message}", err=True)
    ok = report.consistent and not report.unsatisfiable and not failures
    click.echo("ontology QC: " + ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


# `reekg query --format`: the SPARQL results formats by name, Turtle and N-Triples by suffix (reekg.formats)
_RESULTS_OUT = {f.name: f for f in formats.RESULTS}
_GRAPH_OUT = {f.suffix: f for f in formats.GRAPH if f.name in ("turtle", "n-triples")}


@main.command()
@click.argument("sparql")
@click.option("--format", "fmt", type=click.Choice(["table", *_RESULTS_OUT, *_GRAPH_OUT]),
              default="table", show_default=True)
@click.pass_context
def query(ctx: click.Context, sparql: str, fmt: str) -> None:
    """Run a SPARQL query on the current store (all graphs form the default graph; the remote store's
    published graphs with store = sparql)."""
    import pyoxigraph as ox

    from reekg.loaders.namespaces import Namespaces

    settings = _settings(ctx)
    ns = Namespaces(settings["base_iri"])
    if sparql == "-":
        sparql = sys.stdin.read()
    result = _query_results(settings, sparql)
    if isinstance(result, ox.QueryBoolean):
        click.echo(json.dumps({"head": {}, "boolean": bool(result)}) if fmt == "json" else str(bool(result)).lower())
        return
    if isinstance(result, ox.QueryTriples | list):
        graph = _GRAPH_OUT.get(fmt, formats.GRAPH[0])  # Turtle unless N-Triples was asked for
        extra = {"prefixes": ns.prefixes()} if graph.name == "turtle" else {}
        sys.stdout.buffer.write(ox.serialize(result, format=graph.rdf, **extra) or b"")
        return
    if fmt in _RESULTS_OUT:
        sys.stdout.buffer.write(result.serialize(format=_RESULTS_OUT[fmt].results) or b"")
        return
    names = [v.value for v in result.variables]
    rows = [[_short(solution[name], ns) for name in names] for solution in result]
    _table(names, rows)
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


# The CLI reads a store through the backend the service uses (reekg.read.open_backend; the embedded store opened
# read-only in this process), so a query means the same as at /sparql (on the remote store: the dataset of the
# meta graph, parameters as terms, engine deviations made good). It is a local user's tool: no row cap short of
# this one.
_CLI_MAX_ROWS = 10_000_000


def _run_job(settings: dict[str, Any], job: Any):
    """Run a Job on the served store; a query that fails, or an engine that is down or slow, exits 1 with its
    message."""
    from reekg.read import open_backend

    reply = open_backend(settings, in_process=True).execute(job, settings["query_timeout"])
    if not reply.ok:
        what = "SPARQL syntax error" if reply.error == "syntax" else "the query failed"
        raise click.ClickException(f"{what}: {reply.message}")
    if reply.truncated:
        raise click.ClickException(f"the answer has more than {_CLI_MAX_ROWS} rows")
    return reply


def _query_results(settings: dict[str, Any], sparql: str):
    """The answer of ``reekg query`` as pyoxigraph's results (a list of triples for a graph), so that every
    output format is written the same way whichever store answered."""
    import pyoxigraph as ox

    from reekg.loaders.namespaces import Namespaces
    from reekg.read import Job

    ns = Namespaces(settings["base_iri"])
    job = Job(query=sparql, result_format="json", graph_format="n-triples", max_rows=_CLI_MAX_ROWS,
              prefixes=ns.prefixes())
    reply = _run_job(settings, job)
    if reply.kind == "graph":
        return list(ox.parse(reply.body, format=ox.RdfFormat.N_TRIPLES))
    return ox.parse_query_results(reply.body, format=ox.QueryResultsFormat.JSON)


def _answers(ctx: click.Context):
    """The analyst answers over the served graph, run in this process (no server needed) through the one
    runner of answers, on the backend reekg.read.open_backend gives the CLI (the embedded store opened
    read-only, or the remote store when store = sparql)."""
    from reekg.loaders.namespaces import Namespaces
    from reekg.questions.core import Answers
    from reekg.questions.runner import BackendRunner
    from reekg.read import open_backend

    settings = _settings(ctx)
    ns = Namespaces(settings["base_iri"])
    runner = BackendRunner(open_backend(settings, in_process=True), ns, max_rows=_CLI_MAX_ROWS,
                           timeout=settings["query_timeout"])
    return Answers(runner, ns, concentration_threshold=settings["concentration_threshold"])


def _register_question_commands() -> None:
    """A command per analyst question, generated from its declaration (reekg.questions)."""
    from reekg.questions.show import commands

    for command in commands(_answers):
        main.add_command(command)


def _short(term: Any, ns: Any) -> str:
    import pyoxigraph as ox

    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return ns.shorten(term.value) or f"<{term.value}>"
    if isinstance(term, ox.Literal):
        return term.value + (f"@{term.language}" if term.language else "")
    return str(term)


def _table(headers: list[str], rows: list[list[Any]]) -> None:
    from reekg.questions.show import table_lines

    for line in table_lines(headers, rows):
        click.echo(line)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of releases [default: HOME/dumps, which `reekg serve` publishes at /dumps/].")
@click.option("--json", "as_json", is_flag=True, help="Print the release description as JSON.")
@click.pass_context
def export(ctx: click.Context, out_dir: Path | None, as_json: bool) -> None:
    """Write the current build as a release: Turtle, N-Triples and N-Quads (gzip), JSON-LD, VoID/DCAT, SHA256SUMS.

    With store = sparql the release is read from the remote store (the graphs its meta graph lists)."""
    from reekg.loaders.releases import export_served

    settings = _settings(ctx)
    try:
        release = export_served(settings, out_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({**release.info, "path": str(release.path)}, indent=2, ensure_ascii=False))
        return
    click.echo(f"release {release.name}: {release.info['triples']} triples, {release.info['quads']} quads "
               f"in {len(release.info['graphs'])} graphs")
    click.echo(f"folder: {release.path}")
    _table(["file", "bytes", "sha256"], [[f["name"], f["bytes"], f["sha256"]] for f in release.files])


@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="Print counts and lines as JSON.")
@click.option("--summary", is_flag=True, help="Print only the counts.")
@click.pass_context
def diff(ctx: click.Context, old: str, new: str, as_json: bool, summary: bool) -> None:
    """List the triples added (+) and removed (-) from OLD to NEW.

    Each of OLD and NEW is a release folder, a dump file (.nq.gz, .nt.gz, .ttl, .jsonld, …), a store folder,
    or a build id or release name under HOME (`current` for the live build). Lines are N-Quads when both
    sides keep their named graphs, N-Triples otherwise. Exit status 0 when nothing changed, 1 otherwise.
    """
    from reekg.loaders.diff import diff as run_diff

    settings = _settings(ctx)
    try:
        result = run_diff(old, new, home=settings["home"])
    except (FileNotFoundError, ValueError, SyntaxError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        if not summary:
            for line in result.removed:
                click.echo("- " + line, nl=False)
            for line in result.added:
                click.echo("+ " + line, nl=False)
        kind = "quads" if result.quads else "triples"
        click.echo(f"{result.old} → {result.new}: {len(result.added)} {kind} added, {len(result.removed)} removed")
    sys.exit(1 if result.added or result.removed else 0)


@main.command()
@click.option("--scale", type=click.FloatRange(1), required=True, help="About how many triples (1e5 works).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write: .nq (N-Quads) or .nt (N-Triples).")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same file.")
def synth(scale: float, output: Path, seed: int) -> None:
    """Write a synthetic supply network that conforms to the shapes (load it with `reekg build --add`)."""
    from reekg.loaders.synth import write_synth

    try:
        count = write_synth(output, int(scale), seed=seed, progress=sys.stderr.isatty())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--output") from None
    click.echo(f"wrote {count} triples to {output}")


def _register_server_commands() -> None:
    """`reekg serve` lives with the server; its module imports Flask only when the command runs."""
    from reekg.server.serve import serve

    main.add_command(serve)


_register_question_commands()
_register_server_commands()
