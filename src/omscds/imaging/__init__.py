"""Quantitative brain imaging: cerebellar perfusion (SPECT) and cerebellar volume (MRI).

Pure quantification lives in :mod:`~omscds.imaging.quantify`; reading files in
:mod:`~omscds.imaging.io`; the end-to-end service in :mod:`~omscds.imaging.analyze`.
"""

from __future__ import annotations

from omscds.imaging.analyze import AnalysisResult, analyze_path, analyze_volume, to_case_test
from omscds.imaging.io import read_image, write_nifti
from omscds.imaging.norms import ImagingNorms, load_norms
from omscds.imaging.phantoms import Phantom, make_phantom
from omscds.imaging.volume import Volume

__all__ = [
    "AnalysisResult",
    "ImagingNorms",
    "Phantom",
    "Volume",
    "analyze_path",
    "analyze_volume",
    "load_norms",
    "make_phantom",
    "read_image",
    "to_case_test",
    "write_nifti",
]
