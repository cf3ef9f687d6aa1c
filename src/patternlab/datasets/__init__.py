"""Small real data sets shipped with patternlab, and a reader for UCR-style ``.ts`` files.

- :func:`ecg`: five minutes of an electrocardiogram (MIT-BIH Arrhythmia Database, record 208;
  PhysioNet, Open Data Commons Attribution License) with normal beats, premature ventricular
  contractions and noise artifacts.
- :func:`gunpoint`: the UCR archive's GunPoint set, 200 labelled motion series.
- :func:`read_ts`: the reader of the ``.ts`` format that :func:`gunpoint` uses, for any other
  univariate UCR/UEA file.

The files travel inside the package (``patternlab/datasets/data``, read with
:mod:`importlib.resources`); their ``README.md`` there holds the provenance and citations.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DataFormatError, InvalidParameterError
from ._ts import LabelledSeries, read_ts

__all__ = ["DataFormatError", "LabelledSeries", "Recording", "ecg", "gunpoint", "read_ts"]

ECG_SOURCE = ("MIT-BIH Arrhythmia Database, record 208, lead MLII, 19:35 to 24:35 "
              "(https://physionet.org/content/mitdb/1.0.0/)")
ECG_LICENSE = "Open Data Commons Attribution License v1.0"
ECG_CITATION = (
    "Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng in Med and Biol "
    "20(3):45-50 (2001). Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet: components "
    "of a new research resource for complex physiologic signals. Circulation 101(23):e215-e220 (2000)."
)
GUNPOINT_SOURCE = ("UCR Time Series Classification Archive, GunPoint "
                   "(https://www.cs.ucr.edu/~eamonn/time_series_data_2018/)")
GUNPOINT_CITATION = (
    "Dau HA, Bagnall A, Kamgar K, Yeh CCM, Zhu Y, Gharghabi S, Ratanamahatana CA, Keogh E. The UCR "
    "Time Series Archive. IEEE/CAA Journal of Automatica Sinica 6(6):1293-1305 (2019)."
)
#: The published test error of the 1-nearest-neighbour classifier with Euclidean distance on
#: GunPoint (UCR archive).
GUNPOINT_1NN_EUCLIDEAN_ERROR = 0.087

_SPLITS = ("train", "test", "all")


def _data(name: str) -> Any:
    return files(__name__).joinpath("data").joinpath(name)


@dataclass(frozen=True)
class Recording:
    """One recorded signal with its metadata.

    ``np.asarray(recording)`` is the signal, so a recording can be passed wherever patternlab
    takes a signal.

    Attributes
    ----------
    signal : ndarray of float64
        The samples, in ``units``.
    sampling_rate : float
        Samples per second (Hz).
    units : str
        Units of the samples.
    name : str
        A short name.
    description : str
        What the recording holds.
    source, license, citation : str
        Where it comes from, under which licence, and how to cite it.
    """

    signal: NDArray[np.float64]
    sampling_rate: float
    units: str
    name: str
    description: str
    source: str
    license: str
    citation: str

    def __len__(self) -> int:
        return int(self.signal.shape[0])

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[Any]:
        return self.signal if dtype is None else self.signal.astype(dtype)

    def __repr__(self) -> str:
        return (f"<Recording {self.name}: {len(self):,} samples at {self.sampling_rate:g} Hz "
                f"({self.duration:g} s), {self.units}>")

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self) / self.sampling_rate

    @property
    def times(self) -> NDArray[np.float64]:
        """The time of every sample, in seconds from the start."""
        return np.arange(len(self), dtype=np.float64) / self.sampling_rate

    def seconds(self, index: int) -> float:
        """The time of sample ``index``, in seconds from the start."""
        return float(index) / self.sampling_rate

    def describe(self) -> str:
        """A readable summary: size, rate, units, content, source, licence and citation."""
        s = self.signal
        return "\n".join([
            f"{self.name}: {len(self):,} samples at {self.sampling_rate:g} Hz ({self.duration:g} s), "
            f"{self.units}, mean {s.mean():.4f}, std {s.std():.4f}, range [{s.min():g}, {s.max():g}]",
            self.description,
            f"Source: {self.source}",
            f"License: {self.license}",
            f"Citation: {self.citation}",
        ])


@lru_cache(maxsize=1)
def _ecg_adc() -> NDArray[np.uint16]:
    raw = _data("ecg_mitbih208.npz").read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as f:
        adc = f["ecg"]
    adc.setflags(write=False)
    return adc


def ecg() -> Recording:
    """Five minutes of an electrocardiogram: record 208 of the MIT-BIH Arrhythmia Database.

    Lead MLII, 19:35 to 24:35 of the record, 360 Hz, 108,000 samples, in millivolts
    (``(adc - 1024) / 200``, the database's gain and baseline). The record is rich in premature
    ventricular contractions (the first after about 16 s, a pair around 46.5 to 50 s, and many
    more, all of much the same shape) between normal beats, and holds noise artifacts (bursts
    around 28-30, 53-55 and 99 s; large baseline excursions at 42-44 and 209-213 s).

    Data from PhysioNet's MIT-BIH Arrhythmia Database (Open Data Commons Attribution License).
    Cite: Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng in Med and
    Biol 20(3):45-50 (2001); Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet.
    Circulation 101(23):e215-e220 (2000).

    Returns
    -------
    Recording
        ``signal`` (float64, mV; mean -0.16510875, std 0.5992474), ``sampling_rate`` (360.0),
        ``units``, ``source``, ``license``, ``citation``, ``times`` and ``describe()``.

    Examples
    --------
    >>> import patternlab as pl
    >>> rec = pl.datasets.ecg()
    >>> rec
    <Recording MIT-BIH 208: 108,000 samples at 360 Hz (300 s), mV>
    >>> round(float(rec.signal.mean()), 8), rec.signal.dtype
    (-0.16510875, dtype('float64'))
    """
    mv = (_ecg_adc().astype(np.int64) - 1024) / 200.0
    return Recording(
        signal=mv, sampling_rate=360.0, units="mV", name="MIT-BIH 208",
        description=("Electrocardiogram, lead MLII: normal beats, frequent premature ventricular "
                     "contractions and noise artifacts."),
        source=ECG_SOURCE, license=ECG_LICENSE, citation=ECG_CITATION,
    )


@lru_cache(maxsize=2)
def _gunpoint(split: str) -> LabelledSeries:
    return read_ts(_data(f"GunPoint_{split.upper()}.ts.gz"))


def gunpoint(split: str = "train") -> LabelledSeries:
    """The UCR archive's GunPoint series and their labels.

    The X coordinate of an actor's right hand, 150 samples a series: class 1 draws a replica gun
    from a hip holster, points it at a target and puts it back (Gun-Draw); class 2 points a finger
    (Point). 50 training and 150 test series; the published 1-NN Euclidean test error is 0.087
    (:data:`GUNPOINT_1NN_EUCLIDEAN_ERROR`). The files are read with :func:`read_ts`.

    Data from the UCR Time Series Classification Archive. Cite: Dau HA et al. The UCR Time Series
    Archive. IEEE/CAA Journal of Automatica Sinica 6(6):1293-1305 (2019).

    Parameters
    ----------
    split : {"train", "test", "all"}
        Which series: the 50 training ones, the 150 test ones, or all 200 (training first).

    Returns
    -------
    LabelledSeries
        ``X`` (float64, shape (50, 150), (150, 150) or (200, 150)), ``y`` (int64 labels 1 and 2),
        ``classes``, ``source``, ``citation`` and ``describe()``; unpacks as ``X, y``.

    Raises
    ------
    InvalidParameterError
        For any other ``split``.

    Examples
    --------
    >>> import patternlab as pl
    >>> X, y = pl.datasets.gunpoint("train")
    >>> X.shape, sorted(set(y.tolist()))
    ((50, 150), [1, 2])
    """
    if not isinstance(split, str) or split.lower() not in _SPLITS:
        raise InvalidParameterError(f"split={split!r} is not a GunPoint split: pass split='train', "
                                    "split='test' or split='all'")
    split = split.lower()
    if split == "all":
        tr, te = _gunpoint("train"), _gunpoint("test")
        assert isinstance(tr.X, np.ndarray) and isinstance(te.X, np.ndarray)
        assert tr.y is not None and te.y is not None
        X, y, base = np.concatenate([tr.X, te.X]), np.concatenate([tr.y, te.y]), tr
    else:
        base = _gunpoint(split)
        assert isinstance(base.X, np.ndarray) and base.y is not None
        X, y = base.X.copy(), base.y.copy()
    return LabelledSeries(
        X=X, y=y, name="GunPoint", classes=base.classes, header=dict(base.header),
        description=("Motion of an actor's right hand (X coordinate): 1 = Gun-Draw (draw a replica "
                     "gun from a holster, point, put it back), 2 = Point (point a finger)."),
        source=GUNPOINT_SOURCE, citation=GUNPOINT_CITATION, split=split,
    )
