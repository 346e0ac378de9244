"""UnfragileRank on the real Neo4j: determinism, robustness to spam, intervals, GDS, pages."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from tests.conftest import CATALOG
from tests.helpers import event, write_jsonl
from unfragile.engine import ranking
from unfragile.engine.ingest import ingest
from unfragile.engine.ranking import algorithms
from unfragile.engine.settings import Settings
from unfragile.graph import gds
from unfragile.graph.connection import Graph

SCORE_PROPS = (
    "unfragile_rank",
    "rank_low",
    "rank_high",
    "adoption",
    "quality",
    "quality_source",
    "ecosystem",
    "match_graph",
    "freshness",
    "times_matched",
)


def _scores(graph: Graph) -> dict[str, dict]:
    rows = graph.read("MATCH (a:Artifact) RETURN a.id AS id, properties(a) AS p ORDER BY id")
    return {r["id"]: {k: r["p"].get(k) for k in SCORE_PROPS} for r in rows}


def _alternatives(graph: Graph) -> list[dict]:
    return graph.read(
        "MATCH (a:Artifact)-[x:ALTERNATIVE_TO]->(b) "
        "RETURN a.id AS a, b.id AS b, x.score AS score ORDER BY a, b"
    )


def _rank(graph: Graph, **kw) -> ranking.RankReport:
    return ranking.rank(graph, ranking.load_config(env={}), show_progress=False, **kw)


def _add_events(graph: Graph, folder: Path, name: str, events: list[dict]) -> None:
    ingest(
        graph, write_jsonl(folder / f"{name}.jsonl", events), show_progress=False, events_only=True
    )


@pytest.fixture
def catalog(graph: Graph) -> Graph:
    ingest(graph, CATALOG, show_progress=False)
    return graph


# -- pure algorithms -----------------------------------------------------------------------


def test_pagerank_equals_networkx_on_a_random_weighted_graph() -> None:
    rng = random.Random(3)
    G = nx.gnm_random_graph(300, 900, seed=3)
    G.add_node(300)  # an isolated (dangling) node
    for u, v in G.edges:
        G[u][v]["weight"] = rng.uniform(0.1, 3.0)
    ours = algorithms.pagerank(G, tol=1e-12)
    ref = nx.pagerank(G, weight="weight", tol=1e-12, max_iter=1000)
    assert max(abs(ours[n] - ref[n]) for n in G) < 1e-8


def test_reused_pagerank_operator_equals_networkx_for_each_weighting() -> None:
    rng = np.random.default_rng(4)
    G = nx.gnm_random_graph(200, 700, seed=4)
    G.add_node(200)  # dangling
    nodes, src, dst, _ = algorithms.edge_arrays(G)
    op = algorithms.UndirectedPageRank(len(nodes), src, dst)
    for _ in range(3):  # the bootstrap re-runs one operator with new weights
        w = rng.uniform(0.0, 2.0, len(src))
        w[rng.random(len(src)) < 0.1] = 0.0  # zero-weight edges leave some nodes dangling
        H = nx.Graph()
        H.add_nodes_from(nodes)
        H.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True))
        ref = nx.pagerank(H, weight="weight", tol=1e-13, max_iter=2000)
        ours = op.run(w, tol=1e-13, max_iter=2000)
        assert np.max(np.abs(ours - np.array([ref[n] for n in nodes]))) < 1e-9


def test_stable_argsort_is_numpys_stable_argsort() -> None:
    rng = np.random.default_rng(6)
    for bound in (1, 7, 5000, 2**40, 2**62):  # 2**62 leaves no room: numpy's argsort is used
        key = rng.integers(0, bound, 3000)
        order, keys = algorithms.stable_argsort(key, bound)
        assert np.array_equal(order, np.argsort(key, kind="stable")), bound
        assert np.array_equal(keys, key[order]), bound


def _random_votes(seed: int) -> tuple[list[str], dict[str, str], dict]:
    """Coded votes as `read_vote_codes` returns them, in a random read order, some for
    artifacts (or capabilities of artifacts) no longer in the catalog, some z <= 0."""
    rng = np.random.default_rng(seed)
    art_ids = [f"art-{i:02d}" for i in range(30)]
    art_names = sorted([*art_ids[:27], "gone-a", "gone-b"])  # matched by id: two deleted
    cap_names = [f"cap-{i:02d}" for i in range(50)]
    owners = {c: art_ids[i % 33] if i % 33 < 30 else "gone-c" for i, c in enumerate(cap_names)}
    n = 3000
    is_cap = rng.random(n) < 0.5
    target = np.where(is_cap, rng.integers(0, 50, n), rng.integers(0, len(art_names), n))
    key = ((rng.integers(0, 400, n) * 40 + rng.integers(0, 40, n)) * 2 + is_cap) * 64 + target
    key = rng.permutation(np.unique(key))  # one row per (session, query, target)
    return (
        art_ids,
        owners,
        {
            "session_code": key // (64 * 2 * 40),
            "query_code": key // (64 * 2) % 40,
            "target_code": key % 64,
            "is_capability": key // 64 % 2 == 1,
            "z": rng.choice([-1.0, 0.0, 1.0, 2.0, 5.0], len(key)),
            "n_sessions": 400,
            "query_names": [f"query {i:02d}" for i in range(40)],
            "cap_names": cap_names,
            "art_names": art_names,
        },
    )


def test_match_graph_is_the_documented_projection_in_canonical_row_order() -> None:
    """The projection checked against docs/ranking.md computed row by row in Python: node
    names, edge weights (plain and re-weighted per session), times matched, and the rows in
    (session, query, target) order whatever order they were read in."""
    art_ids, owners, ev = _random_votes(7)
    mg = ranking.build_match_graph(art_ids, owners, ev)
    rows = []  # (session, query node, target node, artifact, capability node or None, z)
    columns = ("session_code", "query_code", "target_code", "is_capability", "z")
    for s, q, t, cap, z in zip(*(ev[c].tolist() for c in columns), strict=True):
        target = ev["cap_names" if cap else "art_names"][t]
        artifact = owners[target] if cap else target
        if artifact in art_ids:
            node = f"c:{target}" if cap else f"a:{artifact}"
            rows.append((s, f"q:{ev['query_names'][q]}", node, artifact, max(z, 0.0)))
    per_session: dict[int, float] = defaultdict(float)
    for s, *_, z in rows:
        per_session[s] += z
    omega = np.random.default_rng(8).poisson(1.0, mg.n_sessions).astype(np.float64)
    # Sessions with a row left are numbered in their codes' order.
    session_index = {s: i for i, s in enumerate(sorted(per_session))}
    names = mg.node_names
    for weight in (None, omega):
        mass: dict[tuple[str, str], float] = defaultdict(float)
        for s, q, node, artifact, z in rows:
            v = (z / per_session[s] if per_session[s] > 0 else 0.0) * (
                1.0 if weight is None else weight[session_index[s]]
            )
            mass[q, node] += v
            if node.startswith("c:"):
                mass[node, f"a:{artifact}"] += v
        for q in {q for _, q, *_ in rows}:
            mass[q, "ground"] = 1.0  # one session's worth
        got = mg.weights(weight)
        edges = {(names[u], names[v]): w for u, v, w in zip(mg.src, mg.dst, got, strict=True)}
        assert edges.keys() == mass.keys()
        assert all(abs(edges[e] - math.log1p(m)) < 1e-12 for e, m in mass.items())
    assert names == sorted({f"a:{a}" for *_, a, _ in rows}) + sorted(
        {n for *_, n, _, _ in rows if n.startswith("c:")}
    ) + sorted({q for _, q, *_ in rows}) + ["ground"]
    positive = {(s, a) for s, _, _, a, z in rows if z > 0}
    assert mg.times_matched(len(art_ids)).tolist() == [
        sum(1 for _, a in positive if a == art) for art in art_ids
    ]
    # Rows in (session, query, capability or artifact) order, each once.
    src, dst = mg.src[mg.ev_edge], mg.dst[mg.ev_edge]
    assert np.array_equal(np.lexsort((dst, src, mg.ev_session)), np.arange(len(rows)))
    assert len({(s, u, v) for s, u, v in zip(mg.ev_session, src, dst, strict=True)}) == len(rows)


def test_centrality_on_arrays_above_the_networkx_size_equals_networkx() -> None:
    art_ids, owners, ev = _random_votes(9)
    mg = ranking.build_match_graph(art_ids, owners, ev)
    assert ranking.match_graph.pagerank_engine(mg, "networkx") == "networkx"
    assert ranking.match_graph.pagerank_engine(mg, "networkx", len(mg.src) - 1) == "scipy"
    assert ranking.match_graph.pagerank_engine(mg, "gds", 0) == "gds"
    by_networkx = ranking.centrality(mg, 0.85)
    on_arrays = ranking.centrality(mg, 0.85, networkx_max_edges=len(mg.src) - 1)
    assert np.max(np.abs(by_networkx - on_arrays)) < 1e-10


def test_bootstrap_replicates_are_those_of_one_replicate_after_the_other() -> None:
    """Blocks of draws, sparse products for a block and PageRanks in threads give, to the
    bit, what drawing, weighting and ranking one replicate at a time gives."""
    from unfragile.engine.ranking.compute import bootstrap_replicates

    art_ids, owners, ev = _random_votes(11)
    mg = ranking.build_match_graph(art_ids, owners, ev)
    config = ranking.load_config(env={})
    pr = ranking.centrality(mg, config.pagerank_alpha)

    def score(pr_b: np.ndarray, times_b: np.ndarray) -> np.ndarray:
        return np.concatenate([pr_b, times_b])

    rng = np.random.default_rng(config.bootstrap_seed)
    one_by_one = []
    for _ in range(config.bootstrap_replicates):
        omega = rng.poisson(1.0, mg.n_sessions).astype(np.float64)
        operator = algorithms.UndirectedPageRank(mg.n_nodes, mg.src, mg.dst)
        pr_b = operator.run(mg.weights(omega), config.pagerank_alpha, tol=1.0e-9, x0=pr)
        one_by_one.append(score(pr_b, mg.times_matched(len(art_ids), omega)))
    assert len({r.tobytes() for r in one_by_one}) == len(one_by_one) > 16  # several blocks
    for workers in (1, 3):
        got = bootstrap_replicates(mg, pr, len(art_ids), config, score, workers=workers)
        assert len(got) == len(one_by_one)
        assert all(np.array_equal(a, b) for a, b in zip(one_by_one, got, strict=True)), workers


def test_evidence_only_for_deleted_artifacts_projects_to_an_empty_graph() -> None:
    art_ids, owners, ev = _random_votes(10)
    mg = ranking.build_match_graph(["someone-else"], owners, ev)
    assert (mg.n_nodes, mg.n_sessions, len(mg.src)) == (0, 0, 0)
    assert ranking.centrality(mg, 0.85).size == 0


def test_bradley_terry_orders_by_wins_and_stays_finite() -> None:
    s = algorithms.bradley_terry({("a", "b"): 5, ("b", "c"): 5, ("a", "c"): 1})
    assert s["a"] > s["b"] > s["c"] > 0
    assert all(np.isfinite(list(s.values())))


def test_midrank_percentiles_share_ties() -> None:
    assert algorithms.midrank_percentiles([1, 2, 2, 3]) == [0.0, 0.5, 0.5, 1.0]
    assert algorithms.midrank_percentiles([7]) == [0.5]


def test_checklist_quality_is_not_a_constant() -> None:
    bare = {
        "description_chars": 0,
        "capabilities": 1,
        "with_unique": 0,
        "with_vs": 0,
        "signal_names": ["downloads"],
        "illustrative": True,
    }
    rich = {
        **bare,
        "description_chars": 900,
        "capabilities": 4,
        "with_unique": 4,
        "with_vs": 4,
        "url": "https://x.org",
        "task": "t",
        "provider": "p",
        "license": "mit",
        "released": "2024-01-01",
        "modalities": ["text"],
        "pricing": "free",
        "categories": 1,
        "images": 1,
        "illustrative": False,
    }
    assert ranking.checklist_quality(bare) < 20 < 90 < ranking.checklist_quality(rich)


def test_weights_override_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        "[weights.model]\nadoption = 1\nquality = 0\necosystem = 0\n"
        "match_graph = 0\nfreshness = 0\n"
    )
    config = ranking.load_config(env={"UNFRAGILE_RANK_WEIGHTS": str(path)})
    assert config.weights["model"]["adoption"] == 1.0
    assert config.weights["cli"] == ranking.load_config(env={}).weights["cli"]
    path.write_text("[weights.model]\npopularity = 1\n")
    with pytest.raises(ranking.RankError, match="unknown sub-score"):
        ranking.load_config(env={"UNFRAGILE_RANK_WEIGHTS": str(path)})
    path.write_text("[parameters]\nalternatives_comatch_weight = 0.6\n")
    with pytest.raises(ranking.RankError, match="retired: alternatives are found by search"):
        ranking.load_config(env={"UNFRAGILE_RANK_WEIGHTS": str(path)})


# -- on the bundled catalog ----------------------------------------------------------------


def test_rank_is_deterministic_and_writes_every_property(catalog: Graph) -> None:
    _rank(catalog)
    first = _scores(catalog)
    _rank(catalog)
    assert _scores(catalog) == first
    # Adoption is unknown (null) exactly for the artifacts without a popularity figure.
    figureless = {
        r["id"]
        for r in catalog.read(
            "MATCH (a:Artifact) WHERE size(coalesce(a.signal_names, [])) = 0 RETURN a.id AS id"
        )
    }
    assert {a for a, s in first.items() if s["adoption"] is None} == figureless
    for artifact_id, s in first.items():
        known = [k for k in SCORE_PROPS if not (k == "adoption" and artifact_id in figureless)]
        assert all(s[k] is not None for k in known), artifact_id
        assert 0 <= s["unfragile_rank"] <= 100
        for k in ranking.SUBSCORES:
            assert s[k] is None or 0 <= s[k] <= 100, (artifact_id, k)
        # The interval contains the estimate.
        assert s["rank_low"] <= s["unfragile_rank"] <= s["rank_high"], artifact_id
        assert s["quality_source"] in ("preferences", "benchmarks", "checklist")
    # Each quality source occurs in the bundled catalog.
    assert {s["quality_source"] for s in first.values()} == {
        "preferences",
        "benchmarks",
        "checklist",
    }


def test_gds_agrees_with_networkx(catalog: Graph) -> None:
    if not gds.gds_available(catalog):
        pytest.skip("Graph Data Science is not loaded in this Neo4j")
    config = ranking.load_config(env={})
    nx_scores, _ = ranking.compute(catalog, config, engine="networkx")
    gds_scores, _ = ranking.compute(catalog, config, engine="gds")
    # Stated tolerance: match_graph within 0.01 points, hence identical UnfragileRank.
    for a, b in zip(nx_scores, gds_scores, strict=True):
        assert a.id == b.id
        assert abs(a.match_graph - b.match_graph) <= 0.01, a.id
        assert a.unfragile_rank == b.unfragile_rank, a.id
    mg = ranking.build_match_graph(
        [s.id for s in nx_scores],
        ranking.projection.capability_owners(catalog),
        ranking.read_evidence(catalog),
    )
    pr_nx = ranking.centrality(mg, 0.85, "networkx")
    pr_gds = ranking.centrality(mg, 0.85, "gds", catalog)
    assert np.max(np.abs(pr_nx - pr_gds)) < 1e-6


def test_evidence_columns_carry_the_documented_confidence_units(catalog: Graph) -> None:
    """z computed over the event log equals engine/evidence.py's formula on each per-session
    row, the rows folded independently here by engine/evidence.fold."""
    from unfragile.engine.evidence import fold
    from unfragile.engine.ingest import _events, validate

    w = ranking.MATCH_WEIGHTS
    plan = validate(catalog, CATALOG, show_progress=False)
    rows = [r for r in fold(list(_events(plan))) if r["target_kind"] != "Prefer"]
    plan.spill.close()
    expected = {
        (r["session"], r["query_id"], r["target"]): w["w_session"]
        + w["w_click"] * bool(r["clicked"])
        + w["w_long_dwell"] * ((r["dwell"] or 0.0) >= w["long_dwell_s"])
        + w["w_feedback"] * (r["feedback"] or 0)
        for r in rows
    }
    ev = ranking.read_evidence(catalog)
    got = dict(
        zip(zip(ev["session"], ev["query"], ev["target"], strict=True), ev["z"], strict=True)
    )
    assert len(rows) == len(ev["z"]) > 0 and got == expected
    assert any(z != 1.0 for z in got.values())  # clicks, dwell or feedback occur


def test_ranking_reads_the_votes_coded_as_by_name(catalog: Graph) -> None:
    """Ranking reads the votes as integer codes (read_vote_codes); the match graph built from
    them is the one built from the same votes by name (read_evidence), field for field."""
    from dataclasses import fields

    from unfragile.engine.ranking.match_graph import read_vote_codes

    art_ids = [a["id"] for a in ranking.projection.artifacts(catalog)]
    owners = ranking.projection.capability_owners(catalog)
    by_name = ranking.build_match_graph(art_ids, owners, ranking.read_evidence(catalog))
    coded = ranking.build_match_graph(art_ids, owners, read_vote_codes(catalog))
    assert by_name.n_qt_edges > 0 and by_name.n_sessions > 0
    for f in fields(by_name):
        a, b = getattr(by_name, f.name), getattr(coded, f.name)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b), f.name
        else:
            assert a == b, f.name


def test_rank_before_index_keeps_the_edges_there_and_says_so(
    catalog: Graph, settings: Settings, tmp_path: Path
) -> None:
    """ALTERNATIVE_TO edges are found by search (tests/test_alternatives.py); without a
    capability index none is written, and the edges already there stay as they are."""
    catalog.write(
        lambda tx: tx.run(
            "MATCH (x:Artifact {id: 'flux-1-pro'}), (y:Artifact {id: 'midjourney-v6'}) "
            "CREATE (x)-[:ALTERNATIVE_TO {score: 0.5, match: 60, position: 1}]->(y)"
        ).consume()
    )
    before = _alternatives(catalog)
    assert len(before) == 1
    for kw in ({}, {"settings": settings.with_(home=tmp_path)}):  # no settings; no index
        report = _rank(catalog, **kw)
        assert _alternatives(catalog) == before
        assert report.alternative_edges == 0 and report.alternatives_kept == report.artifacts
        assert "none written" in report.alternatives_source
        assert "existing edges are kept" in report.alternatives_source
    assert "no capability index yet" in report.alternatives_source
    assert "`unfragile index`, then `unfragile rank`" in report.alternatives_source


def _spam(artifact_id: str, n: int = 1000) -> list[dict]:
    """n events from one session: many queries, clicks, long dwells, positive feedback."""
    out = []
    kinds = ["match", "click", "dwell", "feedback"]
    for i in range(n):
        kind = kinds[i % 4]
        extra = {"seconds": 600} if kind == "dwell" else {"value": 1} if kind == "feedback" else {}
        out.append(
            event(
                f"spam query {i // 4}",
                artifact_id,
                "spammer",
                kind,
                time=f"2026-11-01T10:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                **extra,
            )
        )
    return out


def _sessions(artifact_id: str, n: int, query: str = "best thing for my need") -> list[dict]:
    out = []
    for i in range(n):
        out.append(event(query, artifact_id, f"user-{artifact_id}-{i}", "match"))
        out.append(event(query, artifact_id, f"user-{artifact_id}-{i}", "click"))
    return out


@pytest.mark.parametrize("artifact_id", ["ollama", "vit-base-patch16-224", "comfyui"])
def test_one_session_of_spam_moves_the_rank_by_at_most_one_point(
    catalog: Graph, settings, artifact_id: str
) -> None:
    _rank(catalog)
    before = _scores(catalog)[artifact_id]
    _add_events(catalog, settings.home, f"spam-{artifact_id}", _spam(artifact_id))
    _rank(catalog)
    after = _scores(catalog)[artifact_id]
    assert after["times_matched"] == before["times_matched"] + 1
    assert abs(after["unfragile_rank"] - before["unfragile_rank"]) <= 1, (before, after)


@pytest.mark.parametrize("artifact_id", ["ollama", "vit-base-patch16-224", "comfyui"])
def test_many_distinct_sessions_do_move_the_rank(
    catalog: Graph, settings, artifact_id: str
) -> None:
    _rank(catalog)
    before = _scores(catalog)[artifact_id]
    _add_events(catalog, settings.home, f"crowd-{artifact_id}", _sessions(artifact_id, 200))
    _rank(catalog)
    after = _scores(catalog)[artifact_id]
    assert after["times_matched"] == before["times_matched"] + 200
    assert after["unfragile_rank"] >= before["unfragile_rank"] + 3, (before, after)


def test_adding_distinct_session_matches_never_lowers_match_graph(catalog: Graph, settings) -> None:
    targets = ["flux-1-pro", "mcp-server-git", "whisper-tiny"]
    _rank(catalog)
    last = {t: _scores(catalog)[t]["match_graph"] for t in targets}
    rng = random.Random(5)
    for step in range(4):
        events = []
        for t in targets:
            for i in range(rng.randint(1, 6)):
                q = rng.choice(
                    ["transcribe audio", "generate an image", "git in an agent", f"new need {step}"]
                )
                events.append(event(q, t, f"s-{step}-{t}-{i}", "match"))
        _add_events(catalog, settings.home, f"step-{step}", events)
        _rank(catalog)
        now = {t: _scores(catalog)[t]["match_graph"] for t in targets}
        for t in targets:
            assert now[t] >= last[t], (step, t, last[t], now[t])
        last = now


# -- the comparison page, through the real command -----------------------------------------


def test_compare_page_for_the_bundled_pair(cli_here) -> None:
    cli_here("db", "reset", "--yes", check=True)
    cli_here("ingest", str(CATALOG), check=True)
    ranked = cli_here("rank", "--json", check=True)
    assert json.loads(ranked.stdout)["artifacts"] >= 67  # the bundled catalog grows

    page = json.loads(
        cli_here(
            "compare", "vit-base-patch16-224", "FLUX-1-PRO", "--format", "json", check=True
        ).stdout
    )
    a, b, v = page["a"], page["b"], page["verdict"]
    assert page["title"] == f"{a['name']} vs {b['name']}"
    assert (a["id"], b["id"]) == ("vit-base-patch16-224", "flux-1-pro")
    higher, lower = (a, b) if a["unfragile_rank"] > b["unfragile_rank"] else (b, a)
    assert v["sentence"].startswith(
        f"{higher['name']} ranks higher at "
        f"{higher['unfragile_rank']}/100 vs {lower['name']} at "
        f"{lower['unfragile_rank']}/100."
    )
    labels = [r["label"] for r in page["table"]]
    # Popularity figures follow adoption (with their labels); benchmark rows (only those both
    # report, or one saying there are none in common) come after the sub-scores.
    benchmark_rows = [x for x in labels if x.startswith("Benchmark")]
    assert [x for x in labels if x not in benchmark_rows] == [
        "Type",
        "UnfragileRank",
        "Adoption",
        "Popularity figures",
        "Quality",
        "Ecosystem",
        "Match graph",
        "Freshness",
        "Pricing",
        "Capabilities",
        "Times matched",
    ]
    for x in benchmark_rows:
        assert labels.index("Freshness") < labels.index(x) < labels.index("Pricing")
    caps = page["capabilities"]
    assert caps["a"]["total"] == 6 and caps["b"]["total"] == 10
    assert caps["b"]["more"] == 10 - len(caps["b"]["shown"]) > 0
    assert all(c["unique"] and c["vs_alternatives"] for c in caps["b"]["shown"])
    assert (
        "unfragile search --alternatives-to flux-1-pro" in page["something_different"]["commands"]
    )
    for side in (a, b):
        assert set(side["scores"]) == set(ranking.SUBSCORES)
        assert side["rank_low"] <= side["unfragile_rank"] <= side["rank_high"]

    md = cli_here("compare", "vit-base-patch16-224", "flux-1-pro", check=True).stdout
    assert md.startswith(f"# {page['title']}\n")
    for text in (
        v["sentence"],
        "| Type |",
        "| UnfragileRank |",
        "| Times matched |",
        "| Popularity figures |",
        "(illustrative, ",
        f"Catalog as of {page['catalog_as_of']}.",
        "10 decomposed",
        "6 decomposed",
        "Unique:",
        "Vs alternatives:",
        f"+{caps['b']['more']} more capabilities",
        "Need something different?",
        "unfragile search --alternatives-to vit-base-patch16-224",
    ):
        assert text in md, text

    page_html = cli_here(
        "compare", "vit-base-patch16-224", "flux-1-pro", "--format", "html", check=True
    ).stdout
    assert page_html.startswith("<!DOCTYPE html>") and page_html.rstrip().endswith("</html>")
    assert "<script" not in page_html and "http" not in page_html.split("<body>")[0]
    assert "ViT-Base/16 (224px, ImageNet-21k → ImageNet-1k)" in page_html
    assert "FLUX.1 [pro]" in page_html and "Need something different?" in page_html
    assert f"+{caps['b']['more']} more capabilities" in page_html

    board = json.loads(
        cli_here("leaderboard", "--kind", "model", "--top", "5", "--json", check=True).stdout
    )
    assert len(board) == 5 and all(r["kind"] == "model" for r in board)
    assert [r["unfragile_rank"] for r in board] == sorted(
        (r["unfragile_rank"] for r in board), reverse=True
    )


def test_compare_names_unknown_and_ambiguous_artifacts_clearly(cli, cli_here) -> None:
    cli_here("db", "reset", "--yes", check=True)
    cli_here("ingest", str(CATALOG), check=True)
    unranked = cli_here("compare", "flux-1-pro", "vit-base-patch16-224")
    assert unranked.returncode == 2 and "unfragile rank" in unranked.stderr
    cli_here("rank", check=True)
    # A name like none in the catalog (the catalog grows: 'no-such-model' now gets a
    # "did you mean"), so the message is the plain one.
    unknown = cli("compare", "zzqx-vvwj-9173", "flux-1-pro")  # a real process, end to end
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "error: no artifact has the id or name 'zzqx-vvwj-9173'; "
        "list them with `unfragile leaderboard`"
    )
    ambiguous = cli_here("compare", "flux", "vit-base-patch16-224")
    assert ambiguous.returncode == 2
    assert "'flux' is ambiguous" in ambiguous.stderr
    for candidate in ("flux-1-dev", "flux-1-pro", "flux-1-schnell"):
        assert candidate in ambiguous.stderr
    assert "Traceback" not in unknown.stderr + ambiguous.stderr
    by_name = cli_here(
        "compare",
        "flux.1 [PRO]",
        "ViT-Base/16 (224px, ImageNet-21k → ImageNet-1k)",
        "--format",
        "json",
        check=True,
    )
    assert json.loads(by_name.stdout)["a"]["id"] == "flux-1-pro"
    bad = cli_here("compare", "flux-1-pro", "vit-base-patch16-224", "--format", "pdf")
    assert bad.returncode == 2 and "--format" in bad.stderr
