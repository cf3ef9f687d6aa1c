"""Damaged stores: never a silently different result.

For each array of a run store and of a saved library: a chunk (or shard) deleted, truncated or
with one byte flipped, its metadata truncated, deleted or with another shape. A run store is
then either resumed to the exact result of an undamaged run (the damaged partition recomputed)
or refused with a clear error; its readers and ``PatternLibrary.load`` either read exactly what
was written or raise a ``StoreDataError`` naming the path. A hypothesis test does the same with
random damage.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import patternlab as pl
from checks import planted_sines
from patternlab.batch.checkpoint import SUMMARY_DTYPES, RunStore
from patternlab.store._integrity import seal_attrs

CFG = pl.EngineConfig(window=32, max_patterns=1)  # small: the libraries archive patterns
BATCH = 4


def signals(n: int, length: int = 300, seed: int = 0) -> list[np.ndarray]:
    return planted_sines(n, length, seed)


SIGNALS = signals(12)


def same_library(a: pl.PatternLibrary, b: pl.PatternLibrary) -> bool:
    x, y = a.to_arrays(), b.to_arrays()
    xa, ya = a.archive_arrays(), b.archive_arrays()
    return (a.config == b.config and a.domain == b.domain and x.keys() == y.keys()
            and all(np.array_equal(x[k], y[k]) for k in x) and xa.keys() == ya.keys()
            and all(np.array_equal(xa[k], ya[k]) for k in xa))


def same_summaries(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in SUMMARY_DTYPES)


@pytest.fixture(scope="module")
def start() -> pl.PatternLibrary:
    """A starting library with patterns, pending candidates and an archive (so the run's
    snapshot has data in every array)."""
    lib = pl.batch_perceive(signals(24, length=400, seed=7), config=CFG, client=False, batch_size=8,
                            progress=False).library
    assert len(lib) and len(lib.pending) and len(lib.archived)
    return lib


@pytest.fixture(scope="module")
def reference(start: pl.PatternLibrary) -> pl.BatchResult:
    out = pl.batch_perceive(SIGNALS, library=start, client=False, batch_size=BATCH, progress=False)
    assert len(out.library) and len(out.library.pending) and len(out.library.archived)
    return out


@pytest.fixture(scope="module")
def pristine_run(start: pl.PatternLibrary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    url = tmp_path_factory.mktemp("pristine") / "run.zarr"
    pl.batch_perceive(SIGNALS, library=start, client=False, batch_size=BATCH, progress=False, store=url)
    return url


@pytest.fixture(scope="module")
def pristine_library(reference: pl.BatchResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    url = tmp_path_factory.mktemp("pristine") / "lib.zarr"
    reference.library.save(url)
    return url


# -- damage ----------------------------------------------------------------------------------
def _flip(p: Path) -> None:
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0x10
    p.write_bytes(bytes(b))


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2])


def _reshape(p: Path) -> None:
    meta = json.loads(p.read_text())
    meta["shape"][0] += 1
    p.write_text(json.dumps(meta))


CHUNK_DAMAGE: dict[str, Callable[[Path], None]] = {
    "delete": Path.unlink, "truncate": _truncate, "flip": _flip}
META_DAMAGE: dict[str, Callable[[Path], None]] = {
    "meta-truncate": _truncate, "meta-delete": Path.unlink, "meta-shape": _reshape}


def arrays_of(root: Path) -> list[str]:
    """Every array of a store (for a run store, one delta of the partitions: p00000001)."""
    out = []
    for meta in sorted(root.rglob("zarr.json")):
        if json.loads(meta.read_text())["node_type"] == "array":
            rel = meta.parent.relative_to(root).as_posix()
            if rel.startswith("partitions/p") and rel != "partitions/p00000001":
                continue
            out.append(rel)
    return out


def groups_of(root: Path) -> list[str]:
    return sorted(meta.parent.relative_to(root).as_posix() or "." for meta in root.rglob("zarr.json")
                  if json.loads(meta.read_text())["node_type"] == "group")


def chunk_of(root: Path, array: str) -> Path | None:
    """A stored chunk of the array: partition 1's for the arrays of every partition."""
    files = sorted(p for p in (root / array).rglob("*") if p.is_file() and p.name != "zarr.json")
    if array.startswith(("summaries/", "partitions/done")):
        files = [p for p in files if p.relative_to(root / array).parts[1] == "1"]
    return files[0] if files else None


def damaged_copy(pristine: Path, tmp: Path, target: Path, how: Callable[[Path], None]) -> Path:
    url = tmp / pristine.name
    shutil.copytree(pristine, url)
    how(url / target.relative_to(pristine))
    return url


#: the arrays of a run store's libraries (its snapshot and merged library) the run suite damages:
#: one of each kind and group (the library suite below damages every array of the format)
LIBRARY_SAMPLE = ("prototypes", "pending/ints")


def run_cases(root: Path) -> list[tuple[str, str]]:
    """Every kind of damage to each array of the run's own, three kinds to a sample of its
    libraries' arrays, truncated metadata of every group, deleted metadata of the top ones."""
    cases = []
    for a in arrays_of(root):
        if a.startswith(("snapshot/", "library/")):
            if a.split("/", 1)[1] in LIBRARY_SAMPLE:
                cases += [(a, kind) for kind in ("delete", "flip", "meta-truncate")]
            continue
        cases += [(a, kind) for kind in (*CHUNK_DAMAGE, *META_DAMAGE)]
    cases += [(g, "meta-truncate") for g in groups_of(root)]
    return cases + [(g, "meta-delete") for g in groups_of(root) if "/" not in g]


def _target(root: Path, node: str, kind: str) -> Path:
    if kind in CHUNK_DAMAGE:
        found = chunk_of(root, node)
        assert found is not None
        return found
    return root / node / "zarr.json" if node != "." else root / "zarr.json"


# -- the checks ------------------------------------------------------------------------------
def check_readers(url: Path, reference: pl.BatchResult) -> bool:
    """``open_run``'s readers give the reference exactly, or raise a StoreDataError or
    StoreError naming the store. Returns whether they raised."""
    try:
        run = pl.open_run(url)
        summaries, library = run.summaries, run.library
    except (pl.StoreDataError, pl.StoreError) as exc:
        assert str(url) in str(exc), exc
        return True
    assert same_summaries(summaries, reference.summaries)
    assert same_library(library, reference.library)
    return False


def check_resume(url: Path, reference: pl.BatchResult, start: pl.PatternLibrary) -> pl.BatchResult | None:
    """A rerun gives the reference exactly (and leaves an exact store), or refuses with a clear
    error, after which overwrite=True does."""
    try:
        out = pl.batch_perceive(SIGNALS, library=start, client=False, batch_size=BATCH, progress=False,
                                store=url)
    except (pl.StoreDataError, pl.RunMismatchError) as exc:
        assert str(url) in str(exc) and "overwrite=True" in str(exc), exc
        out = pl.batch_perceive(SIGNALS, library=start, client=False, batch_size=BATCH, progress=False,
                                store=url, overwrite=True)
        assert same_library(out.library, reference.library)
        return None
    assert same_library(out.library, reference.library)
    assert same_summaries(out.summaries, reference.summaries) and out.errors == reference.errors
    run = pl.open_run(url)
    assert run.complete and run.progress[0] == run.progress[1]
    assert same_summaries(run.summaries, reference.summaries)
    assert same_library(run.library, reference.library)
    return out


def test_the_damage_suite_covers_every_array(pristine_run: Path, pristine_library: Path) -> None:
    arrays = arrays_of(pristine_run)
    assert {"summaries/counts", "summaries/distances", "partitions/done", "partitions/p00000001",
            "snapshot/prototypes", "snapshot/pending/ints", "snapshot/archived/strings",
            "library/string_offsets", "library/pending/prototypes", "library/archived/ints"} <= set(arrays)
    # every array of both libraries holds data, so chunk damage is tried on each
    assert all(chunk_of(pristine_run, a) is not None for a in arrays), arrays
    assert len(arrays_of(pristine_library)) == 12
    assert all(chunk_of(pristine_library, a) is not None for a in arrays_of(pristine_library))


def test_run_store_damage_is_recomputed_or_refused(pristine_run: Path, reference: pl.BatchResult,
                                                   start: pl.PatternLibrary, tmp_path: Path) -> None:
    recomputed = 0
    for n, (node, kind) in enumerate(run_cases(pristine_run)):
        case = tmp_path / f"case{n}"
        case.mkdir()
        url = damaged_copy(pristine_run, case, _target(pristine_run, node, kind), CHUNK_DAMAGE.get(kind)
                           or META_DAMAGE.get(kind, _truncate))
        label = f"{node} {kind}"
        raised = check_readers(url, reference)
        if kind in CHUNK_DAMAGE and not node.startswith(("snapshot", "partitions/p")):
            # the readers use every other array (of a delta, only its attributes): damage to
            # any of their chunks is found
            assert raised, label
        out = check_resume(url, reference, start)
        if out is not None and node in ("partitions/p00000001", "summaries/counts", "summaries/distances") \
                and kind in CHUNK_DAMAGE:
            assert out.metrics["tasks_processed"] >= 1 and out.metrics["partitions_damaged"] >= 1, label
            recomputed += 1
        shutil.rmtree(case)
    assert recomputed == 9


@pytest.mark.parametrize("node", ["summaries/counts", "summaries/distances", "partitions/p00000001"])
def test_a_damaged_partition_alone_is_recomputed(node: str, pristine_run: Path, reference: pl.BatchResult,
                                                 start: pl.PatternLibrary, tmp_path: Path) -> None:
    url = damaged_copy(pristine_run, tmp_path, chunk_of(pristine_run, node), Path.unlink)
    if node.startswith("summaries"):
        with pytest.raises(pl.StoreDataError) as info:
            _ = pl.open_run(url).summaries
        msg = str(info.value)
        assert str(url) in msg and "partition 1" in msg and "rerun batch_perceive" in msg
        assert f"{node} chunk c/1/0" in msg and "missing" in msg
    else:  # open_run reads no delta (only its digests of the summaries)
        assert same_summaries(pl.open_run(url).summaries, reference.summaries)
        with pytest.raises(pl.StoreDataError, match="partitions/p00000001 does not match its checksum"):
            RunStore(url, pl.open_run(url).attrs).read_partition(1, BATCH, 2 * BATCH)
    out = check_resume(url, reference, start)
    assert out is not None
    assert out.metrics["tasks_processed"] == 1 and out.metrics["partitions_damaged"] == 1
    assert out.metrics["partitions_resumed"] == 2


def test_library_damage_is_a_store_data_error(pristine_library: Path, reference: pl.BatchResult,
                                              tmp_path: Path) -> None:
    cases = [(a, kind) for a in arrays_of(pristine_library) for kind in (*CHUNK_DAMAGE, *META_DAMAGE)]
    cases += [(g, kind) for g in groups_of(pristine_library) for kind in ("meta-truncate", "meta-delete")]
    for n, (node, kind) in enumerate(cases):
        case = tmp_path / f"case{n}"
        case.mkdir()
        url = damaged_copy(pristine_library, case, _target(pristine_library, node, kind),
                           CHUNK_DAMAGE.get(kind) or META_DAMAGE[kind])
        with pytest.raises((pl.StoreDataError, pl.StoreError)) as info:
            pl.PatternLibrary.load(url)
        assert str(url) in str(info.value), (node, kind, info.value)
        if node != ".":
            assert isinstance(info.value, pl.StoreDataError), (node, kind, info.value)
            assert node in str(info.value), (node, kind, info.value)
        shutil.rmtree(case)


def test_the_message_names_the_array_the_chunk_and_the_fix(pristine_library: Path, tmp_path: Path) -> None:
    url = damaged_copy(pristine_library, tmp_path, pristine_library / "prototypes" / "c" / "0" / "0",
                       Path.unlink)
    with pytest.raises(pl.StoreDataError, match="prototypes") as info:
        pl.PatternLibrary.load(url)
    assert "chunk c/0/0 missing" in str(info.value) and "restore it from a copy" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_flipped_delta_byte_never_changes_the_merged_library(
        pristine_run: Path, reference: pl.BatchResult, start: pl.PatternLibrary, tmp_path: Path) -> None:
    """The issue's case: one flipped byte in a partition's delta changed the merged library."""
    for k in range(3):
        (tmp_path / str(k)).mkdir()
        chunk = pristine_run / "partitions" / f"p{k:08d}" / "c" / "0"
        url = damaged_copy(pristine_run, tmp_path / str(k), chunk, _flip)
        out = check_resume(url, reference, start)
        assert out is not None and out.metrics["partitions_damaged"] == 1


def _strip_digests(group: zarr.Group, version: int) -> None:
    """Make a group look as written before digests existed."""
    for _, arr in group.arrays():
        attrs = arr.attrs.asdict()
        arr.attrs.clear()
        arr.attrs.update({k: v for k, v in attrs.items() if not k.startswith("patternlab_")})
    for _, sub in group.groups():
        _strip_digests(sub, version)
    attrs = group.attrs.asdict()
    if attrs:
        group.attrs.clear()
        group.attrs.update({**{k: v for k, v in attrs.items() if not k.endswith("_digest")},
                            **({"schema_version": version} if "schema_version" in attrs else {})})


def test_a_schema_1_library_loads_with_content_checks_only(pristine_library: Path, reference: pl.BatchResult,
                                                          tmp_path: Path) -> None:
    url = tmp_path / "old.zarr"
    shutil.copytree(pristine_library, url)
    _strip_digests(zarr.open_group(url, mode="r+"), 1)
    assert same_library(pl.PatternLibrary.load(url), reference.library)
    # what the content checks still find: a missing ints chunk reads as support 0
    (url / "ints" / "c" / "0" / "0").unlink()
    with pytest.raises(pl.StoreDataError, match="support 0"):
        pl.PatternLibrary.load(url)
    shutil.rmtree(url)
    shutil.copytree(pristine_library, url)
    _strip_digests(zarr.open_group(url, mode="r+"), 1)
    (url / "prototypes" / "c" / "0" / "0").unlink()  # all-zero prototypes
    with pytest.raises(pl.StoreDataError, match="unit-norm"):
        pl.PatternLibrary.load(url)


def test_a_schema_1_run_store_is_read_but_not_resumed(pristine_run: Path, reference: pl.BatchResult,
                                                     start: pl.PatternLibrary, tmp_path: Path) -> None:
    url = tmp_path / "old.zarr"
    shutil.copytree(pristine_run, url)
    _strip_digests(zarr.open_group(url, mode="r+"), 1)
    run = pl.open_run(url)
    assert run.complete and same_summaries(run.summaries, reference.summaries)
    with pytest.raises(pl.RunMismatchError, match="schema 1"):
        pl.batch_perceive(SIGNALS, library=start, client=False, batch_size=BATCH, progress=False, store=url)


def test_a_damaged_end_record_reads_as_incomplete_and_a_rerun_completes_it(
        pristine_run: Path, reference: pl.BatchResult, start: pl.PatternLibrary, tmp_path: Path) -> None:
    url = tmp_path / "run.zarr"
    shutil.copytree(pristine_run, url)
    g = zarr.open_group(url, mode="r+")
    metrics = dict(g.attrs["metrics"])
    g.attrs.update({"metrics": {**metrics, "tasks_processed": 7.0}})  # a digit changed
    run = pl.open_run(url)
    assert not run.complete and run.metrics == {}
    with pytest.raises(pl.StoreError, match="record of completion is missing or damaged"):
        _ = run.library
    out = check_resume(url, reference, start)
    assert out is not None and out.metrics["partitions_resumed"] == 3
    assert pl.open_run(url).metrics == out.metrics  # the record of the run that completed it
    # a changed identity attribute is refused (the run cannot be trusted to be this one)
    g = zarr.open_group(url, mode="r+")
    g.attrs.update({"run_id": "0" * 32})
    with pytest.raises(pl.StoreDataError, match="do not match their digest"):
        pl.open_run(url)
    with pytest.raises(pl.StoreDataError, match="overwrite=True"):
        pl.batch_perceive(SIGNALS, library=start, client=False, batch_size=BATCH, progress=False, store=url)
    # sealed again (as by a writer), the run is accepted: the seal is what was checked
    seal_attrs(zarr.open_group(url, mode="r+"), {}, exclude=("complete", "metrics"))
    assert pl.open_run(url).complete


# -- fuzz ------------------------------------------------------------------------------------
def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


DAMAGE = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["delete", "truncate", "flip", "garbage"]),
                            st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=3)


def _damage(root: Path, plan: list[tuple[int, str, int, int]]) -> None:
    for which, kind, at, mask in plan:
        files = _files(root)
        if not files:
            return
        p = files[which % len(files)]
        data = p.read_bytes()
        if kind == "delete":
            p.unlink()
        elif kind == "truncate":
            p.write_bytes(data[:at % max(1, len(data))])
        elif kind == "flip" and data:
            b = bytearray(data)
            b[at % len(b)] ^= mask
            p.write_bytes(bytes(b))
        else:
            p.write_bytes(bytes((at + mask * i) % 256 for i in range(at % 64)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=DAMAGE)
def test_fuzz_library_reader(pristine_library: Path, reference: pl.BatchResult,
                             plan: list[tuple[int, str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        url = Path(d) / "lib.zarr"
        shutil.copytree(pristine_library, url)
        _damage(url, plan)
        try:
            lib = pl.PatternLibrary.load(url)
        except (pl.StoreDataError, pl.StoreError) as exc:
            assert str(url) in str(exc)
        else:
            assert same_library(lib, reference.library)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=DAMAGE)
def test_fuzz_run_store_readers_and_resume(
        pristine_run: Path, reference: pl.BatchResult, start: pl.PatternLibrary,
        plan: list[tuple[int, str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        url = Path(d) / "run.zarr"
        shutil.copytree(pristine_run, url)
        _damage(url, plan)
        check_readers(url, reference)
        check_resume(url, reference, start)


# -- corpora ---------------------------------------------------------------------------------
@pytest.mark.parametrize("array", ["values", "offsets", "crc32"])
@pytest.mark.parametrize("kind", ["delete", "truncate", "flip", "meta-truncate"])
def test_a_damaged_corpus_never_gives_other_signals(array: str, kind: str, tmp_path: Path) -> None:
    sig = signals(6, length=200, seed=3)
    corpus = pl.write_signals(tmp_path / "c.zarr", sig, chunk_values=400)
    assert all(np.array_equal(a, b) for a, b in zip(corpus.read(0, 6), sig))
    chunks = sorted(p for p in (tmp_path / "c.zarr" / array / "c").rglob("*") if p.is_file())
    target = chunks[len(chunks) // 2] if kind in CHUNK_DAMAGE else tmp_path / "c.zarr" / array / "zarr.json"
    (CHUNK_DAMAGE.get(kind) or META_DAMAGE[kind])(target)
    with pytest.raises(pl.StoreDataError, match=str(tmp_path / "c.zarr")):
        pl.ZarrCorpus(corpus.url).read(0, 6)  # every damage here changes some signal's bytes


# -- the zarr pattern store ------------------------------------------------------------------
def _published(tmp_path: Path, lib: pl.PatternLibrary) -> tuple[Path, Path]:
    path = tmp_path / "p.zarr"
    with pl.ZarrPatternStore(path) as st:
        st.publish(None, lib, token="a")
    (group,) = [p for p in path.iterdir() if p.is_dir()]
    return path, group


@pytest.mark.parametrize("array", ["acc", "updated", "prototypes", "ints", "strings"])
@pytest.mark.parametrize("kind", ["delete", "flip"])
def test_a_damaged_pattern_store_version_is_a_store_data_error(array: str, kind: str, tmp_path: Path,
                                                               reference: pl.BatchResult) -> None:
    lib = reference.library
    path, group = _published(tmp_path, lib)
    with pl.ZarrPatternStore(path) as st:
        before = st.load_library(lib.domain, lib.window)
    (version,) = [p for p in group.iterdir() if p.name.startswith("v")]
    (chunk,) = [p for p in (version / array / "c").rglob("*") if p.is_file()]
    CHUNK_DAMAGE[kind](chunk)
    with pl.ZarrPatternStore(path) as st, pytest.raises(pl.StoreDataError, match=f"{version.name}/{array}"):
        st.load_library(lib.domain, lib.window)
    assert len(before) == len(lib)


def test_a_changed_token_or_version_pointer_in_the_pattern_store_is_found(tmp_path: Path,
                                                                         reference: pl.BatchResult) -> None:
    lib = reference.library
    path, group = _published(tmp_path, lib)
    g = zarr.open_group(group, mode="r+")
    tokens = g.attrs["tokens"]
    shard = next(iter(tokens))
    g.attrs.update({"tokens": {**tokens, shard: {}}})  # a token forgotten: a retry would apply twice
    with pl.ZarrPatternStore(path) as st, pytest.raises(pl.StoreDataError, match="do not match their digest"):
        st.publish(None, lib, token="a")
    with pl.ZarrPatternStore(path) as st, pytest.raises(pl.StoreDataError, match="do not match their digest"):
        st.load_library(lib.domain, lib.window)


def test_a_damaged_archive_is_an_error_not_an_empty_archive(tmp_path: Path) -> None:
    lib = pl.PatternLibrary(window=8, domain="audio")
    for k in range(3):
        lib.add(np.sin(np.arange(8.0) * (k + 1)), signal_id=k, offset=0)
    path = tmp_path / "p.zarr"
    with pl.ZarrPatternStore(path) as st:
        st.publish(None, lib, token="a")
        archived = st.archive("audio", 8, min_support=2, idle_seconds=0.0)
        assert archived
    (group,) = [p for p in path.iterdir() if p.is_dir()]
    _truncate(group / "archive" / "zarr.json")
    with pl.ZarrPatternStore(path) as st, pytest.raises(pl.StoreDataError, match="archive"):
        st.restore("audio", 8)


def test_a_run_over_a_damaged_corpus_stops_with_a_store_data_error(tmp_path: Path) -> None:
    sig = signals(8, length=200, seed=4)
    corpus = pl.write_signals(tmp_path / "c.zarr", sig, chunk_values=400)
    chunks = sorted(p for p in (tmp_path / "c.zarr" / "values" / "c").rglob("*") if p.is_file())
    chunks[1].unlink()  # signals 2 and 3: read as zeros by zarr
    with pytest.raises(pl.StoreDataError, match=r"signal 2 of .* does not match its CRC-32"):
        pl.batch_perceive(corpus, config=CFG, client=False, batch_size=BATCH, progress=False)
