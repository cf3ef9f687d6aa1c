"""EngineConfig and load_config: defaults, validation on construction, files (JSON and YAML), Dask's
``patternlab`` config section, ``PATTERNLAB_*`` environment variables, and their layering."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import dask.config
import numpy as np
import pytest

import patternlab as pl
from patternlab.errors import ConfigError, PatternlabError

FIELDS = ("window", "edge_threshold", "cluster_threshold", "learning_rate", "exploration_rate", "top_k",
          "max_patterns", "seed", "min_complexity", "min_support", "pool_size", "max_lag")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch):
    """No ``PATTERNLAB_*`` / ``DASK_PATTERNLAB__*`` variable of the calling shell, and no Dask config
    file of the user (``paths=[]``), leaks into a test; whatever a test sets is gone (from
    ``os.environ`` and from Dask's config) when it ends."""
    for key in list(os.environ):
        if key.startswith(("PATTERNLAB_", "DASK_PATTERNLAB__")):
            monkeypatch.delenv(key)
    dask.config.refresh(paths=[])
    yield monkeypatch
    monkeypatch.undo()
    dask.config.refresh()  # back to the normal sources, for the tests that follow


@pytest.fixture
def setenv(clean_environment: pytest.MonkeyPatch):
    """``setenv(NAME=value, ...)``: set environment variables and let Dask read them again."""

    def _set(**variables: str) -> None:
        for key, value in variables.items():
            clean_environment.setenv(key, value)
        dask.config.refresh(paths=[])

    return _set


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def _is_clear(err: BaseException) -> bool:
    return isinstance(err, PatternlabError) and isinstance(err, (ValueError, TypeError))


# ------------------------------------------------------------------------------------ construction


def test_defaults_are_those_of_the_issue():
    cfg = pl.EngineConfig()
    assert cfg.edge_threshold == 0.1
    assert cfg.cluster_threshold == 0.7
    assert cfg.learning_rate == 0.1
    assert cfg.exploration_rate == 0.2
    assert pl.EngineConfig.fields() == FIELDS
    assert isinstance(cfg.window, int) and cfg.window >= 3
    assert isinstance(cfg.top_k, int) and cfg.top_k >= 1
    assert isinstance(cfg.max_patterns, int) and cfg.max_patterns >= 1
    assert isinstance(cfg.seed, int) and cfg.seed >= 0
    assert cfg.min_complexity > 0 and cfg.min_support >= 2 and cfg.pool_size >= 1 and cfg.max_lag is None


@pytest.mark.parametrize("bad, needle", [
    ({"min_complexity": -1.0}, "min_complexity=-1"), ({"min_complexity": float("inf")}, "min_complexity=inf"),
    ({"min_support": 0}, "min_support=0"), ({"pool_size": 0}, "pool_size=0"),
    ({"max_lag": 33}, "max_lag=33"), ({"max_lag": -1}, "max_lag=-1"), ({"max_lag": 1.5}, "max_lag=1.5"),
])
def test_the_library_settings_are_validated(bad, needle):
    with pytest.raises(pl.ConfigError, match=re.escape(needle)):
        pl.EngineConfig(window=64, **bad)


def test_every_field_can_be_set():
    values = dict(window=3, edge_threshold=0.0, cluster_threshold=1.0, learning_rate=1.0,
                  exploration_rate=1.0, top_k=1, max_patterns=1, seed=0, min_complexity=0.0,
                  min_support=1, pool_size=1, max_lag=0)
    cfg = pl.EngineConfig(**values)
    assert cfg.to_dict() == values
    values = dict(window=500, edge_threshold=1.0, cluster_threshold=0.0, learning_rate=0.001,
                  exploration_rate=0.0, top_k=50, max_patterns=10**6, seed=2**40, min_complexity=20.0,
                  min_support=10, pool_size=10**5, max_lag=250)
    assert pl.EngineConfig(**values).to_dict() == values


def test_numpy_scalars_become_python_numbers():
    cfg = pl.EngineConfig(window=np.int64(32), top_k=np.int32(4), cluster_threshold=np.float32(0.5),
                          learning_rate=np.float64(0.25), seed=np.uint8(7))
    assert (cfg.window, cfg.top_k, cfg.seed) == (32, 4, 7)
    assert type(cfg.window) is int and type(cfg.top_k) is int and type(cfg.seed) is int
    assert type(cfg.cluster_threshold) is float and cfg.cluster_threshold == 0.5
    assert type(cfg.learning_rate) is float
    json.dumps(cfg.to_dict())  # plain, serializable values


def test_integers_are_accepted_for_rates():
    cfg = pl.EngineConfig(edge_threshold=0, cluster_threshold=1, learning_rate=1, exploration_rate=0)
    assert cfg.to_dict()["cluster_threshold"] == 1.0
    assert type(cfg.cluster_threshold) is float


BAD = {
    # name: (kwargs, fragments of the message)
    "cluster_threshold > 1": ({"cluster_threshold": 1.5}, ["cluster_threshold=1.5", "[0, 1]"]),
    "cluster_threshold < 0": ({"cluster_threshold": -0.1}, ["cluster_threshold=-0.1", "[0, 1]"]),
    "cluster_threshold nan": ({"cluster_threshold": float("nan")}, ["cluster_threshold", "nan"]),
    "cluster_threshold inf": ({"cluster_threshold": float("inf")}, ["cluster_threshold", "inf"]),
    "edge_threshold < 0": ({"edge_threshold": -0.01}, ["edge_threshold=-0.01", "[0, 1]"]),
    "edge_threshold > 1": ({"edge_threshold": 1.01}, ["edge_threshold=1.01", "[0, 1]"]),
    "exploration_rate < 0": ({"exploration_rate": -0.2}, ["exploration_rate=-0.2"]),
    "exploration_rate > 1": ({"exploration_rate": 1.2}, ["exploration_rate=1.2"]),
    "learning_rate 0": ({"learning_rate": 0.0}, ["learning_rate=0"]),
    "learning_rate < 0": ({"learning_rate": -0.1}, ["learning_rate=-0.1"]),
    "learning_rate > 1": ({"learning_rate": 1.1}, ["learning_rate=1.1"]),
    "window 2": ({"window": 2}, ["window=2", ">= 3"]),
    "window 0": ({"window": 0}, ["window=0"]),
    "window < 0": ({"window": -64}, ["window=-64"]),
    "window float": ({"window": 64.5}, ["window=64.5", "integer"]),
    "window str": ({"window": "64"}, ["window='64'", "integer"]),
    "window None": ({"window": None}, ["window=None"]),
    "window bool": ({"window": True}, ["window=True"]),
    "threshold str": ({"cluster_threshold": "0.5"}, ["cluster_threshold='0.5'", "number"]),
    "threshold None": ({"edge_threshold": None}, ["edge_threshold=None"]),
    "top_k 0": ({"top_k": 0}, ["top_k=0"]),
    "max_patterns 0": ({"max_patterns": 0}, ["max_patterns=0"]),
    "seed < 0": ({"seed": -1}, ["seed=-1"]),
    "seed float": ({"seed": 1.5}, ["seed=1.5"]),
}


@pytest.mark.parametrize("kwargs, fragments", BAD.values(), ids=BAD.keys())
def test_invalid_settings_raise_a_clear_error(kwargs, fragments):
    with pytest.raises(ConfigError) as info:
        pl.EngineConfig(**kwargs)
    assert _is_clear(info.value)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg


def test_out_of_range_thresholds_are_value_errors():
    for name in ("edge_threshold", "cluster_threshold", "exploration_rate", "learning_rate"):
        with pytest.raises(ValueError, match=name):
            pl.EngineConfig(**{name: 2.0})
        with pytest.raises(ValueError, match=name):
            pl.EngineConfig(**{name: -0.5})


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="windw"):
        pl.EngineConfig(windw=64)  # the dataclass constructor itself refuses it


def test_replace_validates_again():
    cfg = pl.EngineConfig(window=32)
    assert cfg.replace(top_k=7) == pl.EngineConfig(window=32, top_k=7)
    assert cfg.top_k == pl.EngineConfig().top_k  # the original is unchanged
    with pytest.raises(ConfigError, match="cluster_threshold=3"):
        cfg.replace(cluster_threshold=3.0)
    with pytest.raises(ConfigError, match="window=1"):
        cfg.replace(window=1)


def test_a_config_cannot_be_mutated_into_an_invalid_state():
    cfg = pl.EngineConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.cluster_threshold = 5.0  # type: ignore[misc]
    assert cfg.cluster_threshold == 0.7


def test_to_dict_round_trips_and_is_json():
    cfg = pl.EngineConfig(window=17, edge_threshold=0.25, top_k=2, seed=9)
    d = cfg.to_dict()
    assert tuple(d) == FIELDS
    assert pl.EngineConfig(**json.loads(json.dumps(d))) == cfg
    assert pl.EngineConfig.from_mapping(d) == cfg


def test_configs_compare_by_value():
    assert pl.EngineConfig(window=10) == pl.EngineConfig(window=10)
    assert pl.EngineConfig(window=10) != pl.EngineConfig(window=11)
    assert hash(pl.EngineConfig(window=10)) == hash(pl.EngineConfig(window=10))


# ---------------------------------------------------------------------------------------- mappings


def test_from_mapping_rejects_unknown_keys_and_names_the_valid_ones():
    with pytest.raises(ConfigError) as info:
        pl.EngineConfig.from_mapping({"window": 32, "cluster_treshold": 0.5})
    msg = str(info.value)
    assert "'cluster_treshold'" in msg
    assert "cluster_threshold" in msg  # the valid names are listed
    assert _is_clear(info.value)


def test_from_mapping_accepts_dashed_and_upper_case_keys():
    cfg = pl.EngineConfig.from_mapping({"edge-threshold": 0.3, "TOP_K": 4})
    assert (cfg.edge_threshold, cfg.top_k) == (0.3, 4)


@pytest.mark.parametrize("values", [[("window", 3)], "window=3", 3, None])
def test_from_mapping_rejects_non_mappings(values):
    with pytest.raises(ConfigError, match="mapping"):
        pl.EngineConfig.from_mapping(values)


# ------------------------------------------------------------------------------------------- files


def test_json_file(tmp_path):
    path = _write(tmp_path, "cfg.json", json.dumps({"window": 128, "cluster_threshold": 0.8}))
    cfg = pl.EngineConfig.from_file(path)
    assert cfg == pl.EngineConfig(window=128, cluster_threshold=0.8)
    assert pl.EngineConfig.from_file(str(path)) == cfg
    assert pl.load_config(path) == cfg


def test_json_file_with_a_patternlab_section(tmp_path):
    text = json.dumps({"patternlab": {"window": 40, "seed": 3}})
    assert pl.EngineConfig.from_file(_write(tmp_path, "c.json", text)) == pl.EngineConfig(window=40, seed=3)


def test_yaml_file(tmp_path):
    path = _write(tmp_path, "cfg.yaml", "window: 96\nedge_threshold: 0.05\ntop_k: 6\n")
    assert pl.EngineConfig.from_file(path) == pl.EngineConfig(window=96, edge_threshold=0.05, top_k=6)
    assert pl.load_config(path) == pl.EngineConfig(window=96, edge_threshold=0.05, top_k=6)


def test_yml_file_with_a_patternlab_section_and_dashed_keys(tmp_path):
    path = _write(tmp_path, "dask.yml", "patternlab:\n  window: 24\n  max-patterns: 50\n")
    assert pl.EngineConfig.from_file(path) == pl.EngineConfig(window=24, max_patterns=50)


def test_empty_files_give_the_defaults(tmp_path):
    assert pl.EngineConfig.from_file(_write(tmp_path, "e.yaml", "")) == pl.EngineConfig()
    assert pl.EngineConfig.from_file(_write(tmp_path, "e.json", "{}")) == pl.EngineConfig()


BAD_FILES = {
    # name: (file name, content, fragments of the message)
    "unknown key json": ("c.json", '{"window": 32, "colour": "red"}', ["'colour'", "c.json"]),
    "unknown key yaml": ("c.yaml", "patternlab:\n  windows: 32\n", ["'windows'", "c.yaml"]),
    "bad json": ("c.json", '{"window": 32,', ["c.json", "parsed"]),
    "bad yaml": ("c.yaml", "window: [32\ntop_k: 3\n", ["c.yaml", "parsed"]),
    "yaml list": ("c.yaml", "- window\n- 32\n", ["c.yaml", "mapping"]),
    "json number": ("c.json", "32", ["c.json", "mapping"]),
    "invalid value": ("c.yaml", "cluster_threshold: 1.7\n", ["cluster_threshold=1.7", "[0, 1]"]),
    "wrong type": ("c.json", '{"window": "big"}', ["window='big'"]),
    "unsupported suffix": ("c.toml", "window = 32\n", ["c.toml", ".json", ".yaml"]),
}


@pytest.mark.parametrize("name, text, fragments", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_config_files_raise_a_clear_error(tmp_path, name, text, fragments):
    path = _write(tmp_path, name, text)
    for load in (pl.EngineConfig.from_file, pl.load_config):
        with pytest.raises(ConfigError) as info:
            load(path)
        assert _is_clear(info.value)
        for fragment in fragments:
            assert fragment in str(info.value), str(info.value)


def test_a_missing_file_raises_a_clear_error(tmp_path):
    path = tmp_path / "nowhere.yaml"
    for load in (pl.EngineConfig.from_file, pl.load_config):
        with pytest.raises(ConfigError, match=r"nowhere\.yaml") as info:
            load(path)
        assert _is_clear(info.value)


# -------------------------------------------------------------------------- Dask config and env vars


def test_dask_config_section():
    with dask.config.set({"patternlab": {"window": 128, "cluster_threshold": 0.9}}):
        want = pl.EngineConfig(window=128, cluster_threshold=0.9)
        assert pl.EngineConfig.from_dask_config() == want
        assert pl.load_config() == want
    assert pl.EngineConfig.from_dask_config() == pl.EngineConfig()
    assert pl.load_config() == pl.EngineConfig()


def test_dask_environment_variables(setenv):
    setenv(DASK_PATTERNLAB__WINDOW="128", DASK_PATTERNLAB__EDGE_THRESHOLD="0.3")
    want = pl.EngineConfig(window=128, edge_threshold=0.3)
    assert pl.EngineConfig.from_dask_config() == want
    assert pl.load_config() == want


def test_dask_environment_variables_are_gone_after_the_test():
    # runs after test_dask_environment_variables (file order): the fixture refreshed Dask's config
    assert dask.config.get("patternlab", default=None) in (None, {})
    assert pl.load_config() == pl.EngineConfig()


def test_unknown_key_in_the_dask_section_raises(setenv):
    setenv(DASK_PATTERNLAB__WINDOWS="128")
    with pytest.raises(ConfigError, match="'windows'") as info:
        pl.load_config()
    assert _is_clear(info.value)


def test_invalid_value_in_the_dask_section_raises(setenv):
    setenv(DASK_PATTERNLAB__CLUSTER_THRESHOLD="-0.5")
    with pytest.raises(ConfigError, match=r"cluster_threshold=-0\.5"):
        pl.EngineConfig.from_dask_config()


def test_patternlab_environment_variables(setenv):
    setenv(PATTERNLAB_WINDOW="128", PATTERNLAB_LEARNING_RATE="0.5", PATTERNLAB_SEED="11")
    cfg = pl.load_config()
    assert cfg == pl.EngineConfig(window=128, learning_rate=0.5, seed=11)
    assert type(cfg.window) is int and type(cfg.learning_rate) is float


def test_other_patternlab_variables_are_ignored(setenv):
    setenv(PATTERNLAB_REDIS_URL="redis://localhost:6379/0", PATTERNLAB_TOP_K="5")
    assert pl.load_config() == pl.EngineConfig(top_k=5)


@pytest.mark.parametrize("variable, value",
                         [("PATTERNLAB_WINDOW", "abc"), ("PATTERNLAB_EDGE_THRESHOLD", "x")])
def test_non_numeric_patternlab_variable_raises(setenv, variable, value):
    setenv(**{variable: value})
    with pytest.raises(ConfigError) as info:
        pl.load_config()
    assert variable in str(info.value) and repr(value) in str(info.value)
    assert _is_clear(info.value)


def test_out_of_range_patternlab_variable_raises(setenv):
    setenv(PATTERNLAB_CLUSTER_THRESHOLD="2")
    with pytest.raises(ConfigError, match="cluster_threshold=2"):
        pl.load_config()


def test_layering_defaults_dask_env_file_overrides(setenv, tmp_path):
    """defaults < dask config < PATTERNLAB_* env < file < overrides, field by field."""
    setenv(
        DASK_PATTERNLAB__WINDOW="100", DASK_PATTERNLAB__TOP_K="4", DASK_PATTERNLAB__SEED="1",
        DASK_PATTERNLAB__LEARNING_RATE="0.2",
        PATTERNLAB_WINDOW="110", PATTERNLAB_TOP_K="5", PATTERNLAB_SEED="2",
    )
    path = _write(tmp_path, "cfg.yaml", "window: 120\nseed: 3\n")
    cfg = pl.load_config(path, window=130)
    assert cfg.window == 130  # override
    assert cfg.seed == 3  # file over env and dask
    assert cfg.top_k == 5  # env over dask
    assert cfg.learning_rate == 0.2  # dask over defaults
    assert cfg.cluster_threshold == pl.EngineConfig().cluster_threshold  # default
    assert pl.load_config(path) == cfg.replace(window=120)
    assert pl.load_config() == cfg.replace(window=110, seed=2)


def test_layering_with_dask_config_set(setenv):
    setenv(PATTERNLAB_TOP_K="5")
    with dask.config.set({"patternlab.top_k": 4, "patternlab.window": 50}):
        assert pl.load_config() == pl.EngineConfig(window=50, top_k=5)
        assert pl.load_config(top_k=9) == pl.EngineConfig(window=50, top_k=9)


def test_load_config_overrides_are_validated():
    assert pl.load_config(window=32, top_k=5) == pl.EngineConfig(window=32, top_k=5)
    with pytest.raises(ConfigError, match="'windw'") as info:
        pl.load_config(windw=32)
    assert _is_clear(info.value)
    with pytest.raises(ConfigError, match="window=2"):
        pl.load_config(window=2)
    with pytest.raises(ConfigError, match=r"exploration_rate=1\.5"):
        pl.load_config(exploration_rate=1.5)


def test_libraries_use_their_config():
    cfg = pl.EngineConfig(window=20, cluster_threshold=0.8, max_patterns=5)
    lib = pl.PatternLibrary(config=cfg)
    assert lib.config == cfg and lib.window == 20
    lib = pl.PatternLibrary(window=12, config=cfg)  # an explicit window wins
    assert lib.window == 12 and lib.config == cfg.replace(window=12)
    with pytest.raises(ConfigError, match="window=2"):
        pl.PatternLibrary(window=2)
