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


def _p(name: str) -> str:
    return _iri(R + name)


def _e(kind: str, ident: str) -> str:
    return _iri(f"{ID}{kind}/{ident}")


class _Cluster:
    """One cluster being written, stage by stage. The steps run in a fixed order and draw from ``rng`` in that
    order: the same seed gives the same bytes (tests/loaders/test_synth.py pins them)."""

    def __init__(self, w: _Writer, rng: random.Random, c: int):
        self.w, self.rng, self.c = w, rng, c
        self.key = f"synth-{c:06d}"
        self.home = rng.choice(COUNTRIES)
        self.source = _e("source", f"{self.key}-survey")
        self.companies: list[str] = []

    def row(self, subject: str, cls: str) -> None:
        """The type, source and a random confidence of one row."""
        _row(self.w, subject, cls, self.source, self.rng.choice(CONFIDENCE))

    def labels(self, subject: str, en: str, zh: str | None = None) -> None:
        self.w.add(subject, _iri(RDFS_LABEL), _text(en, "en"))
        if zh is not None:
            self.w.add(subject, _iri(RDFS_LABEL), _text(zh, "zh-Hant"))

    def write_source(self) -> None:
        w, source, c = self.w, self.source, self.c
        w.add(source, _iri(RDF_TYPE), _p("Source"))
        self.labels(source, f"Synthetic supply survey {c}")
        w.add(source, _iri(DCTERMS + "publisher"), _text("reekg synthetic data"))
        w.add(source, _iri(DCTERMS + "issued"), _typed(str(self.rng.choice(YEARS) + 1), "gYear"))
        w.add(source, "<https://schema.org/url>", _iri(f"https://example.org/reekg-synth/{self.key}"))
        w.add(source, _p("sourceKind"), _text("synthetic survey"))
        w.add(source, _iri(PROV_DERIVED), _e("source", "reekg-curation"))
        w.add(source, _p("confidence"), _e("confidence", "unverified"))

    def write_companies(self) -> None:
        for k in range(3):
            company = _e("company", f"{self.key}-co{k}")
            self.companies.append(company)
            self.row(company, "Company")
            self.labels(company, f"Synthetic Rare Earths {self.c}-{k}")
            self.w.add(company, _p("headquarteredIn"),
                       _e("country", self.rng.choice((self.home, self.rng.choice(COUNTRIES)))))

    def site(self, ident: str, cls: str, label: str, country: str, elements: tuple[str, ...]) -> str:
        w, rng = self.w, self.rng
        node = _e("mine" if cls == "Mine" else "facility", ident)
        self.row(node, cls)
        self.labels(node, label)
        w.add(node, _p("locatedIn"), _e("country", country))
        w.add(node, _p("operatedBy"), rng.choice(self.companies))
        status = rng.choice(("operating", "producing", "planned", "care and maintenance"))
        w.add(node, _p("siteStatus"), _text(status))
        for symbol in elements:
            w.add(node, _p("producesElement"), _e("element", symbol))
        return node

    def write_mines(self) -> list[str]:
        w, rng, key, c = self.w, self.rng, self.key, self.c
        heavy = rng.random() < 0.3
        mines = []
        for k in range(3):
            elements = tuple(rng.sample(HEAVY if heavy else LIGHT, 3))
            mine = self.site(f"{key}-mine{k}", "Mine", f"Synthetic mine {c}-{k}", self.home, elements)
            w.add(mine, _p("depositType"), _text(rng.choice(DEPOSITS)))
            w.add(mine, _p("oreMinerals"), _text(rng.choice(("bastnaesite", "monazite", "xenotime"))))
            w.add(mine, _p("elementEmphasis"), _e("element-group", "heavy" if heavy else "light"))
            w.add(mine, _p("region"), _text(f"district {rng.randrange(1, 40)}"))
            mines.append(mine)
        return mines

    def write_plants(self) -> dict[str, str]:
        plants = {}
        for stage in STAGES:
            country = self.home if stage in ("concentration", "cracking") else self.rng.choice(COUNTRIES)
            plant = self.site(f"{self.key}-{stage}", "Facility", f"Synthetic {stage} plant {self.c}", country,
                              ("Nd", "Pr"))
            self.w.add(plant, _p("atStage"), _e("stage", stage))
            self.w.add(plant, _p("capacityNote"), _text(f"{self.rng.randrange(500, 20000)} t REO a year"))
            plants[stage] = plant
        return plants

    def write_links(self, mines: list[str], plants: dict[str, str], previous_separation: str | None) -> None:
        w = self.w
        links = [(mine, plants["concentration"]) for mine in mines]
        links += [(plants["concentration"], plants["cracking"]), (plants["cracking"], plants["separation"]),
                  (plants["recycling"], plants["separation"]), (plants["separation"], plants["metal-alloy"]),
                  (plants["metal-alloy"], plants["magnet-making"])]
        if previous_separation is not None:
            links.append((previous_separation, plants["metal-alloy"]))
        for k, (upstream, downstream) in enumerate(links):
            link = _e("supply-link", f"{self.key}-link{k}")
            self.row(link, "SupplyLink")
            w.add(link, _p("fromSite"), upstream)
            w.add(link, _p("toSite"), downstream)
            w.add(link, _p("element"), _e("element", self.rng.choice(("Nd", "Pr"))))
            w.add(upstream, _p("feeds"), downstream)

    def write_materials(self, magnet_plant: str) -> list[str]:
        w, c = self.w, self.c
        materials = []
        for slug, suffix, temperature, energy in self.rng.sample(GRADES, 3):
            material = _e("material", f"{self.key}-ndfeb-{slug}")
            materials.append(material)
            self.row(material, "Material")
            self.labels(material, f"synthetic sintered NdFeB {suffix} ({c})", f"合成燒結釹鐵硼 {suffix}（{c}）")
            w.add(material, _p("servesFunction"), _e("function", "magnet"))
            w.add(material, _p("variantOf"), _e("material", "sintered-ndfeb"))
            w.add(material, _p("gradeSuffix"), _text(suffix))
            w.add(material, _p("maxWorkingTemperatureMinC"), _dec(temperature - 10, 0))
            w.add(material, _p("maxWorkingTemperatureMaxC"), _dec(temperature, 0))
            w.add(material, _p("maxEnergyProductMinMGOe"), _dec(energy - 2, 0))
            w.add(material, _p("maxEnergyProductMaxMGOe"), _dec(energy, 0))
            w.add(material, _p("madeAt"), magnet_plant)
            self.write_contents(material, slug, temperature)
        return materials

    def write_contents(self, material: str, slug: str, temperature: int) -> None:
        w, rng = self.w, self.rng
        dysprosium = min(0.01 * (temperature - 80) / 15, 0.1)
        iron = 0.60 - dysprosium + rng.random() * 0.02  # the minimum fractions add up to less than 1
        contents = (("Nd", 0.22 + rng.random() * 0.03, 0.04), ("Pr", 0.05 + rng.random() * 0.02, 0.02),
                    ("Dy", dysprosium, 0.01), ("Fe", iron, 0.05), ("B", 0.009, 0.003))
        for symbol, low, spread in contents:
            content = _e("element-content", f"{self.key}-ndfeb-{slug}--{symbol}")
            self.row(content, "ElementContent")
            w.add(material, _p("hasElementContent"), content)
            w.add(content, _p("element"), _e("element", symbol))
            w.add(content, _p("massFractionMin"), _dec(low, 4))
            w.add(content, _p("massFractionMax"), _dec(min(low + spread, 1.0), 4))
            w.add(content, _p("role"), _e("function", "magnet"))

    def write_components(self, materials: list[str]) -> list[str]:
        rng, c = self.rng, self.c
        components = []
        for slug, label, label_zh in rng.sample(COMPONENTS, 3):
            component = _e("component", f"{self.key}-{slug}")
            components.append(component)
            self.row(component, "Component")
            self.labels(component, f"{label} ({c})", f"{label_zh}（{c}）")
            for material in rng.sample(materials, rng.randint(1, 2)):
                self.w.add(component, _p("usesMaterial"), material)
            function = "sensor" if "sensor" in slug or slug == "encoder" else "magnet"
            self.w.add(component, _p("servesFunction"), _e("function", function))
        return components

    def write_subsystems(self, components: list[str]) -> list[str]:
        subsystems = []
        for slug, label, label_zh in SUBSYSTEMS:
            subsystem = _e("subsystem", f"{self.key}-{slug}")
            subsystems.append(subsystem)
            self.row(subsystem, "RobotSubsystem")
            self.labels(subsystem, f"{label} ({self.c})", f"{label_zh}（{self.c}）")
            for component in self.rng.sample(components, self.rng.randint(1, 2)):
                self.w.add(subsystem, _p("hasComponent"), component)
        return subsystems

    def write_robots(self, subsystems: list[str], materials: list[str]) -> None:
        w, rng = self.w, self.rng
        for k, kind in enumerate(("humanoid", "industrial arm")):
            robot = _e("robot", f"{self.key}-robot{k}")
            self.row(robot, "RobotModel")
            self.labels(robot, f"Synthetic {kind} {self.c}-{k}")
            w.add(robot, _p("manufacturer"), rng.choice(self.companies))
            w.add(robot, _p("robotKind"), _text(kind))
            w.add(robot, _p("degreesOfFreedom"), _text(str(rng.randrange(6, 45))))
            for subsystem in subsystems:
                w.add(robot, _p("hasSubsystem"), subsystem)
            estimate = _e("magnet-mass-estimate", f"{self.key}-robot{k}-ndfeb")
            self.row(estimate, "MagnetMassEstimate")
            w.add(robot, _p("hasMagnetMassEstimate"), estimate)
            w.add(estimate, _p("ofRobot"), robot)
            w.add(estimate, _p("ofMaterial"), rng.choice(materials))
            low = round(0.5 + rng.random() * 3, 2)
            w.add(estimate, _p("massMinKg"), _dec(low, 2))
            w.add(estimate, _p("massMaxKg"), _dec(low + rng.random() * 1.5, 2))
            w.add(estimate, _p("isEstimate"), _typed("true", "boolean"))

    def write_observations(self) -> None:
        rng = self.rng
        for year in YEARS:
            for quantity, stage in OBSERVATION_GROUPS:
                countries = rng.sample(COUNTRIES, COUNTRIES_PER_GROUP)
                weights = [rng.random() + 0.05 for _ in countries]
                scale = (0.6 + rng.random() * 0.35) / sum(weights)  # the group's shares add up to 0.6–0.95
                for country, weight in zip(countries, weights, strict=True):
                    self.write_observation(country, year, quantity, stage, weight * scale)

    def write_observation(self, country: str, year: int, quantity: str, stage: str, share: float) -> None:
        w = self.w
        obs = _e("observation", f"{self.key}-{country.lower()}-{year}-{quantity}-{stage}")
        self.row(obs, "StatisticalObservation")
        w.add(obs, _p("edition"), self.source)
        w.add(obs, _p("refArea"), _e("country", country))
        w.add(obs, _p("refYear"), _typed(str(year), "gYear"))
        w.add(obs, _p("measuredQuantity"), _e("quantity", quantity))
        w.add(obs, _p("atStage"), _e("stage", stage))
        w.add(obs, _p("shareOfWorld"), _dec(share, 4))
        if quantity == "mine-production":
            w.add(obs, _iri(QUDT + "numericValue"), _dec(share * 390000, 0))
            w.add(obs, _iri(QUDT + "unit"), "<http://qudt.org/vocab/unit/TONNE>")
        w.add(obs, _p("basis"), _text("rare-earth oxide equivalent"))
        w.add(obs, _p("isEstimate"), _typed("true", "boolean"))
        w.add(obs, _p("isLowerBound"), _typed("false", "boolean"))


def _cluster(w: _Writer, rng: random.Random, c: int, previous_separation: str | None) -> str:
    """Write cluster ``c``; return its separation plant (the next cluster of the block may be fed by it)."""
    cluster = _Cluster(w, rng, c)
    cluster.write_source()
    cluster.write_companies()
    mines = cluster.write_mines()
    plants = cluster.write_plants()
    cluster.write_links(mines, plants, previous_separation)
    materials = cluster.write_materials(plants["magnet-making"])
    components = cluster.write_components(materials)
    subsystems = cluster.write_subsystems(components)
    cluster.write_robots(subsystems, materials)
    cluster.write_observations()
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
