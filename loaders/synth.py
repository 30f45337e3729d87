"""A synthetic supply network for scale tests and benchmarks (issue 6, item 3).

:func:`write_synth` streams a seeded, deterministic graph that conforms to the ontology and the shapes, cluster
by cluster, straight to an N-Quads (``.nq``) or N-Triples (``.nt``) file: memory stays flat from 10^4 to 10^7
triples. A cluster is one regional chain, every stage of it a site:

    3 mines → concentration → cracking → separation (+ a recycling plant) → metal-alloy → magnet-making
    → 3 NdFeB grades (element contents) → 3 components → 2 subsystems → 2 robot models (magnet-mass estimates)

with 3 companies, one source (the cluster's edition) and 54 observations: 3 years × (mine production at the
mining stage, capacity share at separation, capacity share at magnet making) × 6 countries, whose shares add
up to less than 1 per group (``rsh:ShareOfWorldSum``). Clusters come in blocks of four; within a block each
separation plant also feeds the next cluster's alloy plant, so the ``feeds`` closure stays bounded.

Ids live under the default base with a ``synth-`` prefix (never a curated id); the file refers to curated
elements, countries, functions, stages, quantities, confidences, the ``sintered-ndfeb`` family and the
``reekg-curation`` source, so it is loaded with the curated tables: ``reekg build --add synth.nq``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from reekg.settings import DEFAULT_BASE_IRI

ID = DEFAULT_BASE_IRI + "id/"
R = DEFAULT_BASE_IRI + "ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PROV_DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"
XSD = "http://www.w3.org/2001/XMLSchema#"
QUDT = "http://qudt.org/schema/qudt/"
DCTERMS = "http://purl.org/dc/terms/"

# Curated terms the synthetic rows point to (data/countries.csv, data/elements.csv, the concept schemes).
COUNTRIES = ("AT", "AU", "BR", "CA", "CN", "DE", "EE", "FR", "GB", "GL", "IN", "JP", "KE", "KR", "MG", "MM", "MW",
             "MY", "NG", "NL", "NO", "RU", "SE", "TH", "TZ", "US", "VN", "ZA")
LIGHT = ("La", "Ce", "Pr", "Nd", "Sm")
HEAVY = ("Dy", "Tb", "Y", "Gd", "Ho")
CONFIDENCE = ("verified", "secondary", "unverified")
STAGES = ("concentration", "cracking", "separation", "metal-alloy", "magnet-making", "recycling")
OBSERVATION_GROUPS = (("mine-production", "mining"), ("capacity-share", "separation"),
                      ("capacity-share", "magnet-making"))
YEARS = (2022, 2023, 2024)
COUNTRIES_PER_GROUP = 6
CLUSTERS_PER_BLOCK = 4
GRADES = (("n52", "N52", 80, 50), ("n48h", "N48H", 120, 46), ("n45sh", "N45SH", 150, 43),
          ("n42uh", "N42UH", 180, 40), ("n38eh", "N38EH", 200, 36), ("n35ah", "N35AH", 230, 33))
COMPONENTS = (("servo-motor", "servo motor", "伺服電機"), ("torque-motor", "frameless torque motor", "無框力矩電機"),
              ("encoder", "magnetic encoder", "磁編碼器"), ("hall-sensor", "Hall sensor", "霍爾感測器"))
SUBSYSTEMS = (("actuation", "joint actuation", "關節驅動"), ("sensing", "position sensing", "位置感測"))
DEPOSITS = ("carbonatite", "ion-adsorption clay", "heavy-mineral sand", "alkaline intrusion")
TRIPLES_PER_CLUSTER = 1260  # measured; used only to size the progress bar


def _iri(value: str) -> str:
    return f"<{value}>"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def _text(text: str, lang: str | None = None) -> str:
    return f'"{_escape(text)}"@{lang}' if lang else f'"{_escape(text)}"'


def _typed(value: str, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


def _dec(value: float, places: int = 3) -> str:
    return _typed(f"{value:.{places}f}", "decimal")


class _Writer:
    """Writes statements as N-Quads or N-Triples lines and counts them."""

    def __init__(self, handle: TextIO, graph: str | None):
        self.handle = handle
        self.tail = f" {_iri(graph)} .\n" if graph else " .\n"
        self.count = 0

    def add(self, subject: str, predicate: str, obj: str) -> None:
        self.handle.write(f"{subject} {predicate} {obj}{self.tail}")
        self.count += 1


def _row(w: _Writer, subject: str, cls: str, source: str, confidence: str) -> None:
    w.add(subject, _iri(RDF_TYPE), _iri(R + cls))
    w.add(subject, _iri(PROV_DERIVED), source)
    w.add(subject, _iri(R + "confidence"), _iri(ID + "confidence/" + confidence))


def _cluster(w: _Writer, rng: random.Random, c: int, previous_separation: str | None) -> str:
    """Write cluster ``c``; return its separation plant (the next cluster of the block may be fed by it)."""
    key = f"synth-{c:06d}"
    p = lambda name: _iri(R + name)  # noqa: E731 - a short local alias keeps the rows readable
    e = lambda kind, ident: _iri(f"{ID}{kind}/{ident}")  # noqa: E731
    conf = lambda: rng.choice(CONFIDENCE)  # noqa: E731
    home = rng.choice(COUNTRIES)

    source = e("source", f"{key}-survey")
    w.add(source, _iri(RDF_TYPE), p("Source"))
    w.add(source, _iri(RDFS_LABEL), _text(f"Synthetic supply survey {c}", "en"))
    w.add(source, _iri(DCTERMS + "publisher"), _text("reekg synthetic data"))
    w.add(source, _iri(DCTERMS + "issued"), _typed(str(rng.choice(YEARS) + 1), "gYear"))
    w.add(source, "<https://schema.org/url>", _iri(f"https://example.org/reekg-synth/{key}"))
    w.add(source, p("sourceKind"), _text("synthetic survey"))
    w.add(source, _iri(PROV_DERIVED), e("source", "reekg-curation"))
    w.add(source, p("confidence"), e("confidence", "unverified"))

    companies = []
    for k in range(3):
        company = e("company", f"{key}-co{k}")
        companies.append(company)
        _row(w, company, "Company", source, conf())
        w.add(company, _iri(RDFS_LABEL), _text(f"Synthetic Rare Earths {c}-{k}", "en"))
        w.add(company, p("headquarteredIn"), e("country", rng.choice((home, rng.choice(COUNTRIES)))))

    def site(ident: str, cls: str, label: str, country: str, elements: tuple[str, ...]) -> str:
        node = e("mine" if cls == "Mine" else "facility", ident)
        _row(w, node, cls, source, conf())
        w.add(node, _iri(RDFS_LABEL), _text(label, "en"))
        w.add(node, p("locatedIn"), e("country", country))
        w.add(node, p("operatedBy"), rng.choice(companies))
        status = rng.choice(("operating", "producing", "planned", "care and maintenance"))
        w.add(node, p("siteStatus"), _text(status))
        for symbol in elements:
            w.add(node, p("producesElement"), e("element", symbol))
        return node

    heavy = rng.random() < 0.3
    mines = []
    for k in range(3):
        elements = tuple(rng.sample(HEAVY if heavy else LIGHT, 3))
        mine = site(f"{key}-mine{k}", "Mine", f"Synthetic mine {c}-{k}", home, elements)
        w.add(mine, p("depositType"), _text(rng.choice(DEPOSITS)))
        w.add(mine, p("oreMinerals"), _text(rng.choice(("bastnaesite", "monazite", "xenotime"))))
        w.add(mine, p("elementEmphasis"), e("element-group", "heavy" if heavy else "light"))
        w.add(mine, p("region"), _text(f"district {rng.randrange(1, 40)}"))
        mines.append(mine)
    plants = {}
    for stage in STAGES:
        country = home if stage in ("concentration", "cracking") else rng.choice(COUNTRIES)
        plant = site(f"{key}-{stage}", "Facility", f"Synthetic {stage} plant {c}", country, ("Nd", "Pr"))
        w.add(plant, p("atStage"), e("stage", stage))
        w.add(plant, p("capacityNote"), _text(f"{rng.randrange(500, 20000)} t REO a year"))
        plants[stage] = plant

    links = [(mine, plants["concentration"]) for mine in mines]
    links += [(plants["concentration"], plants["cracking"]), (plants["cracking"], plants["separation"]),
              (plants["recycling"], plants["separation"]), (plants["separation"], plants["metal-alloy"]),
              (plants["metal-alloy"], plants["magnet-making"])]
    if previous_separation is not None:
        links.append((previous_separation, plants["metal-alloy"]))
    for k, (upstream, downstream) in enumerate(links):
        link = e("supply-link", f"{key}-link{k}")
        _row(w, link, "SupplyLink", source, conf())
        w.add(link, p("fromSite"), upstream)
        w.add(link, p("toSite"), downstream)
        w.add(link, p("element"), e("element", rng.choice(("Nd", "Pr"))))
        w.add(upstream, p("feeds"), downstream)

    materials = []
    for slug, suffix, temperature, energy in rng.sample(GRADES, 3):
        material = e("material", f"{key}-ndfeb-{slug}")
        materials.append(material)
        _row(w, material, "Material", source, conf())
        w.add(material, _iri(RDFS_LABEL), _text(f"synthetic sintered NdFeB {suffix} ({c})", "en"))
        w.add(material, _iri(RDFS_LABEL), _text(f"合成燒結釹鐵硼 {suffix}（{c}）", "zh-Hant"))
        w.add(material, p("servesFunction"), e("function", "magnet"))
        w.add(material, p("variantOf"), e("material", "sintered-ndfeb"))
        w.add(material, p("gradeSuffix"), _text(suffix))
        w.add(material, p("maxWorkingTemperatureMinC"), _dec(temperature - 10, 0))
        w.add(material, p("maxWorkingTemperatureMaxC"), _dec(temperature, 0))
        w.add(material, p("maxEnergyProductMinMGOe"), _dec(energy - 2, 0))
        w.add(material, p("maxEnergyProductMaxMGOe"), _dec(energy, 0))
        w.add(material, p("madeAt"), plants["magnet-making"])
        dysprosium = min(0.01 * (temperature - 80) / 15, 0.1)
        iron = 0.60 - dysprosium + rng.random() * 0.02  # the minimum fractions add up to less than 1
        contents = (("Nd", 0.22 + rng.random() * 0.03, 0.04), ("Pr", 0.05 + rng.random() * 0.02, 0.02),
                    ("Dy", dysprosium, 0.01), ("Fe", iron, 0.05), ("B", 0.009, 0.003))
        for symbol, low, spread in contents:
            content = e("element-content", f"{key}-ndfeb-{slug}--{symbol}")
            _row(w, content, "ElementContent", source, conf())
            w.add(material, p("hasElementContent"), content)
            w.add(content, p("element"), e("element", symbol))
            w.add(content, p("massFractionMin"), _dec(low, 4))
            w.add(content, p("massFractionMax"), _dec(min(low + spread, 1.0), 4))
            w.add(content, p("role"), e("function", "magnet"))

    components = []
    for slug, label, label_zh in rng.sample(COMPONENTS, 3):
        component = e("component", f"{key}-{slug}")
        components.append(component)
        _row(w, component, "Component", source, conf())
        w.add(component, _iri(RDFS_LABEL), _text(f"{label} ({c})", "en"))
        w.add(component, _iri(RDFS_LABEL), _text(f"{label_zh}（{c}）", "zh-Hant"))
        for material in rng.sample(materials, rng.randint(1, 2)):
            w.add(component, p("usesMaterial"), material)
        w.add(component, p("servesFunction"), e("function", "sensor" if "sensor" in slug or slug == "encoder"
                                                   else "magnet"))
    subsystems = []
    for slug, label, label_zh in SUBSYSTEMS:
        subsystem = e("subsystem", f"{key}-{slug}")
        subsystems.append(subsystem)
        _row(w, subsystem, "RobotSubsystem", source, conf())
        w.add(subsystem, _iri(RDFS_LABEL), _text(f"{label} ({c})", "en"))
        w.add(subsystem, _iri(RDFS_LABEL), _text(f"{label_zh}（{c}）", "zh-Hant"))
        for component in rng.sample(components, rng.randint(1, 2)):
            w.add(subsystem, p("hasComponent"), component)

    for k, kind in enumerate(("humanoid", "industrial arm")):
        robot = e("robot", f"{key}-robot{k}")
        _row(w, robot, "RobotModel", source, conf())
        w.add(robot, _iri(RDFS_LABEL), _text(f"Synthetic {kind} {c}-{k}", "en"))
        w.add(robot, p("manufacturer"), rng.choice(companies))
        w.add(robot, p("robotKind"), _text(kind))
        w.add(robot, p("degreesOfFreedom"), _text(str(rng.randrange(6, 45))))
        for subsystem in subsystems:
            w.add(robot, p("hasSubsystem"), subsystem)
        estimate = e("magnet-mass-estimate", f"{key}-robot{k}-ndfeb")
        _row(w, estimate, "MagnetMassEstimate", source, conf())
        w.add(robot, p("hasMagnetMassEstimate"), estimate)
        w.add(estimate, p("ofRobot"), robot)
        w.add(estimate, p("ofMaterial"), rng.choice(materials))
        low = round(0.5 + rng.random() * 3, 2)
        w.add(estimate, p("massMinKg"), _dec(low, 2))
        w.add(estimate, p("massMaxKg"), _dec(low + rng.random() * 1.5, 2))
        w.add(estimate, p("isEstimate"), _typed("true", "boolean"))

    for year in YEARS:
        for quantity, stage in OBSERVATION_GROUPS:
            countries = rng.sample(COUNTRIES, COUNTRIES_PER_GROUP)
            weights = [rng.random() + 0.05 for _ in countries]
            scale = (0.6 + rng.random() * 0.35) / sum(weights)  # the group's shares add up to 0.6–0.95
            for country, weight in zip(countries, weights, strict=True):
                obs = e("observation", f"{key}-{country.lower()}-{year}-{quantity}-{stage}")
                _row(w, obs, "StatisticalObservation", source, conf())
                w.add(obs, p("edition"), source)
                w.add(obs, p("refArea"), e("country", country))
                w.add(obs, p("refYear"), _typed(str(year), "gYear"))
                w.add(obs, p("measuredQuantity"), e("quantity", quantity))
                w.add(obs, p("atStage"), e("stage", stage))
                w.add(obs, p("shareOfWorld"), _dec(weight * scale, 4))
                if quantity == "mine-production":
                    w.add(obs, _iri(QUDT + "numericValue"), _dec(weight * scale * 390000, 0))
                    w.add(obs, _iri(QUDT + "unit"), "<http://qudt.org/vocab/unit/TONNE>")
                w.add(obs, p("basis"), _text("rare-earth oxide equivalent"))
                w.add(obs, p("isEstimate"), _typed("true", "boolean"))
                w.add(obs, p("isLowerBound"), _typed("false", "boolean"))
    return plants["separation"]


def write_synth(output: Path, scale: int, *, seed: int = 0, graph: str | None = None,
                progress: bool = False, on_progress: Callable[[int], None] | None = None) -> int:
    """Write about ``scale`` triples (whole clusters, at least one) to ``output``; return how many.

    ``.nq`` files put every statement in ``graph`` (default ``…/graph/partner/{file stem}``); ``.nt`` files
    have none. The same ``scale`` and ``seed`` always give the same bytes.
    """
    from tqdm import tqdm

    output = Path(output)
    quads = output.suffix.lower() == ".nq"
    if output.suffix.lower() not in (".nq", ".nt"):
        raise ValueError(f"write N-Quads (.nq) or N-Triples (.nt), not {output.suffix or 'no suffix'!r}")
    graph = graph or f"{DEFAULT_BASE_IRI}graph/partner/{output.stem}"
    rng = random.Random(seed)
    with output.open("w", encoding="utf-8", newline="\n") as handle, \
            tqdm(total=scale, unit="triple", unit_scale=True, disable=not progress, desc="synth") as bar:
        writer = _Writer(handle, graph if quads else None)
        c, separation = 0, None
        while c == 0 or writer.count + TRIPLES_PER_CLUSTER // 2 < scale:
            before = writer.count
            separation = _cluster(writer, rng, c, separation if c % CLUSTERS_PER_BLOCK else None)
            bar.update(writer.count - before)
            if on_progress is not None:
                on_progress(writer.count)
            c += 1
    return writer.count
