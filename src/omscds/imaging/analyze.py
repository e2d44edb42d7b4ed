"""One study end to end: read -> QC -> register -> regions -> ratios and z-scores -> findings.

``analyze_path`` and ``to_case_test`` are the service functions the CLI and ``assess --image``
call. Wording follows imaging-notes §5.4: SPECT reports "reduced cerebellar tracer uptake
(perfusion and/or volume)" because cerebellar atrophy alone lowers the ratio by partial volume.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from omscds.errors import InputError
from omscds.imaging import qc
from omscds.imaging.io import read_image
from omscds.imaging.norms import Z_CONVENTION, ImagingNorms, default_norms, z_score, z_words
from omscds.imaging.quantify import region_means, spect_ratios, tissue_volumes, voxel_zmap
from omscds.imaging.regions import REGION_NAMES, Regions, template_regions
from omscds.imaging.register import (
    MRI_SCHEDULE,
    SPECT_SCHEDULE,
    FixedImage,
    prepare_fixed,
    register_affine,
    resample_to,
)
from omscds.imaging.template import Template, load_template, perfusion_image
from omscds.imaging.volume import Volume

__all__ = [
    "KINDS",
    "AnalysisResult",
    "analyze_path",
    "analyze_volume",
    "region_masks",
    "template_affine",
    "to_case_test",
]

Kind = Literal["spect", "mri"]
KINDS: tuple[str, ...] = ("spect", "mri")
FloatArray = NDArray[np.float64]

WORDING = "reduced cerebellar tracer uptake (perfusion and/or volume)"


@dataclass(frozen=True, eq=False)
class _Context:
    template: Template
    regions: Regions
    perfusion: FloatArray
    #: the registration targets, smoothed once for their schedules
    spect_fixed: FixedImage
    mri_fixed: FixedImage


@lru_cache(maxsize=1)
def _context() -> _Context:
    tpl = load_template()
    perfusion = perfusion_image(tpl)
    perfusion.setflags(write=False)
    affine = np.asarray(tpl.affine)
    return _Context(
        tpl,
        template_regions(),
        perfusion,
        prepare_fixed(Volume(data=perfusion, affine=affine), SPECT_SCHEDULE),
        prepare_fixed(Volume(data=np.asarray(tpl.t1), affine=affine), MRI_SCHEDULE),
    )


@dataclass(eq=False)
class AnalysisResult:
    kind: str
    source: str
    age_months: float | None
    ratios: dict[str, float]
    z_scores: dict[str, float]
    findings: list[str]
    qc: dict[str, Any]
    seconds: float
    volumes: dict[str, float] = field(default_factory=dict)
    norms: list[dict[str, Any]] = field(default_factory=list)
    interpretation: str = ""
    disclaimer: str = ""
    #: template -> study mm affine
    matrix: FloatArray | None = None
    #: the study resampled to the template grid, and the optional voxel z-map (not serialised)
    registered: FloatArray | None = None
    zmap: FloatArray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "age_months": self.age_months,
            "ratios": {k: round(v, 4) for k, v in self.ratios.items()},
            "z_scores": {k: round(v, 2) for k, v in self.z_scores.items()},
            # the sign convention in words, and each z-score read out in it (issue 13)
            "z_convention": Z_CONVENTION,
            "z_meaning": {k: z_words(k, v) for k, v in self.z_scores.items()},
            "volumes": {k: round(v, 4) for k, v in self.volumes.items()},
            "findings": list(self.findings),
            "interpretation": self.interpretation,
            "norms": self.norms,
            "qc": self.qc,
            "seconds": round(self.seconds, 3),
            "disclaimer": self.disclaimer,
        }


def guess_kind(vol: Volume, path: str) -> Kind:
    modality = str(vol.meta.get("modality", "")).upper()
    name = Path(path).name.lower()
    if modality in ("NM", "PT") or any(t in name for t in ("spect", "_nm", "perf")):
        return "spect"
    if modality == "MR" or any(t in name for t in ("mri", "t1", "_mr")):
        return "mri"
    raise InputError("cannot tell whether this is SPECT or MRI; pass --kind spect|mri", path=path)


def _z(
    norms: ImagingNorms,
    measure: str,
    value: float,
    age: float,
    out: dict[str, float],
    used: list[dict[str, Any]],
) -> None:
    row = norms.row(measure, age)
    out[measure] = z_score(value, row)
    used.append(
        {
            "measure": measure,
            "mean": row.mean,
            "sd": row.sd,
            "age_band_months": [row.age_min_months, row.age_max_months],
            "source": list(row.source),
            "note": row.note,
        }
    )


def analyze_volume(
    vol: Volume,
    kind: Kind,
    age_months: float | None = None,
    *,
    norms: ImagingNorms | None = None,
    zmap: bool = False,
    source: str = "",
) -> AnalysisResult:
    """Quantify one study already in memory; raises ImagingError when QC refuses it."""
    t0 = time.perf_counter()
    if kind not in KINDS:
        raise InputError(f"kind must be spect or mri, got {kind!r}", path="kind")
    if age_months is not None and not 0 <= age_months <= 1800:
        raise InputError(f"age must be 0-1800 months, got {age_months}", path="age_months")
    norms = norms if norms is not None else default_norms()
    ctx = _context()
    tpl, reg = ctx.template, ctx.regions
    warnings = list(vol.meta.get("warnings", []))
    report: dict[str, Any] = {"orientation": vol.meta.get("orientation", "")}
    ref = ctx.perfusion if kind == "spect" else tpl.t1
    if kind == "spect":
        total, note = qc.check_counts(
            vol.data, norms.threshold("min_total_counts"), norms.threshold("warn_total_counts")
        )
        report["total_counts"] = total
        if note:
            warnings.append(note)
    scores = qc.check_orientation(
        vol, ref, tpl.affine, tpl.mask, norms.threshold("orientation_margin")
    )
    report["orientation_scores"] = {k: round(v, 3) for k, v in scores.items()}
    if kind == "spect":
        r = register_affine(ctx.spect_fixed, vol, schedule=SPECT_SCHEDULE)
    else:
        r = register_affine(ctx.mri_fixed, vol, schedule=MRI_SCHEDULE)
    report["cerebellum_in_fov"] = round(
        qc.check_fov(
            vol, r.matrix, reg.cerebellum, tpl.affine, norms.threshold("min_cerebellum_in_fov")
        ),
        3,
    )
    img = resample_to(vol, tpl.shape, tpl.affine, r.matrix)
    # judged on the supratentorial brain: a diseased cerebellum must not look like a failure
    corr = qc.correlation(img, ref, tpl.mask & ~reg.infratentorial)
    qc.check_registration(corr, r.matrix, norms.threshold("min_registration_correlation"))
    report["registration"] = {
        "correlation": round(corr, 3),
        "metric": round(r.metric, 4),
        "iterations": r.iterations,
        "level_iterations": list(r.level_iterations),
        "seconds": round(r.seconds, 3),
        "scale": [round(float(s), 3) for s in np.linalg.svd(r.matrix[:3, :3], compute_uv=False)],
    }
    if age_months is None:
        warnings.append("age not given: no z-scores and no finding (normal values are age-banded)")
    elif age_months < 12:
        warnings.append(
            "infant under 12 months: adult template and immature perfusion pattern; "
            "interpret with care"
        )
    ratios: dict[str, float] = {}
    volumes: dict[str, float] = {}
    zs: dict[str, float] = {}
    used: list[dict[str, Any]] = []
    findings: list[str] = []
    zmap_img: FloatArray | None = None
    zflag = norms.threshold("z_flag")
    if kind == "spect":
        means = region_means(
            img,
            {k: getattr(reg, k) for k in REGION_NAMES if k != "brain"},
        )
        ratios = spect_ratios(means)
        if abs(ratios["asymmetry_index_percent"]) > norms.threshold("asymmetry_percent"):
            warnings.append(
                f"cerebellar asymmetry {ratios['asymmetry_index_percent']:+.1f} %: a unilateral "
                "pattern (e.g. crossed cerebellar diaschisis) is not typical of OMS"
            )
        if age_months is not None:
            _z(norms, "cerebellum_to_cortex", ratios["cerebellum_to_cortex"], age_months, zs, used)
            _z(
                norms,
                "cerebellum_to_thalamus",
                ratios["cerebellum_to_thalamus"],
                age_months,
                zs,
                used,
            )
            if zs["cerebellum_to_cortex"] > zflag:
                findings.append("cerebellar_hypoperfusion")
            if zmap:
                row = norms.row("cerebellum_to_cortex", age_months)
                expected = ctx.perfusion * np.where(
                    reg.infratentorial, row.mean / _perfusion_ratio(ctx), 1.0
                )
                zmap_img = voxel_zmap(img, expected, reg.cortex, row.sd / row.mean, tpl.mask)
    else:
        jac = float(abs(np.linalg.det(r.matrix[:3, :3])))
        from scipy.ndimage import binary_dilation

        search = binary_dilation(reg.cerebellum, iterations=1) & tpl.mask
        volumes = tissue_volumes(img, tpl.mask, search, tpl.voxel_ml * jac)
        ratios = {"cerebellum_to_brain": volumes["cerebellum_to_brain"]}
        if age_months is not None:
            _z(norms, "cerebellum_to_brain", volumes["cerebellum_to_brain"], age_months, zs, used)
            _z(norms, "cerebellar_volume_ml", volumes["cerebellar_volume_ml"], age_months, zs, used)
            if zs["cerebellum_to_brain"] > zflag or zs["cerebellar_volume_ml"] > zflag:
                findings.append("cerebellar_atrophy")
    report["warnings"] = warnings
    report["status"] = "warning" if warnings else "ok"
    return AnalysisResult(
        kind=kind,
        source=source,
        age_months=age_months,
        ratios=ratios,
        z_scores=zs,
        findings=findings,
        qc=report,
        seconds=time.perf_counter() - t0,
        volumes=volumes,
        norms=used,
        interpretation=_interpret(kind, findings, zs, age_months, zflag),
        disclaimer=norms.disclaimer,
        matrix=r.matrix,
        registered=img,
        zmap=zmap_img,
    )


def _perfusion_ratio(ctx: _Context) -> float:
    return float(
        ctx.perfusion[ctx.regions.cerebellum].mean() / ctx.perfusion[ctx.regions.cortex].mean()
    )


def _interpret(
    kind: str, findings: list[str], zs: dict[str, float], age: float | None, zflag: float
) -> str:
    if age is None:
        return "Ratios measured; no age given, so no comparison with normal values."
    if kind == "spect":
        said = z_words("cerebellum_to_cortex", zs["cerebellum_to_cortex"])
        if findings:
            return (
                f"{WORDING[0].upper()}{WORDING[1:]} relative to the supratentorial cortex "
                f"({said}; a finding above z = {zflag:g}). Pair with MRI cerebellar volume: "
                "atrophy alone lowers the ratio."
            )
        return f"Cerebellar tracer uptake relative to cortex within normal limits ({said})."
    measure = max(("cerebellum_to_brain", "cerebellar_volume_ml"), key=lambda m: zs[m])
    said = z_words(measure, zs[measure])
    if findings:
        return f"Reduced cerebellar volume for age ({said}; a finding above z = {zflag:g})."
    return f"Cerebellar volume within normal limits for age ({said})."


def analyze_path(
    path: str | Path,
    kind: str | None = None,
    age_months: float | None = None,
    *,
    zmap: bool = False,
) -> AnalysisResult:
    """Read a NIfTI/DICOM study and quantify it (the function ``assess --image`` calls)."""
    t0 = time.perf_counter()
    vol = read_image(path)
    k = kind if kind is not None else guess_kind(vol, str(path))
    if k not in KINDS:
        raise InputError(f"kind must be spect or mri, got {k!r}", path="kind")
    res = analyze_volume(vol, k, age_months, zmap=zmap, source=str(path))  # type: ignore[arg-type]
    res.seconds = time.perf_counter() - t0
    return res


def to_case_test(result: AnalysisResult) -> dict[str, Any]:
    """A TestResult-shaped dict for the case's ``tests`` list (docs/case-format.md)."""
    positive = bool(result.findings)
    outcome = "positive" if positive else "negative"
    if result.age_months is None:
        outcome = "equivocal"
    quantitative = {k: round(v, 4) for k, v in result.ratios.items()}
    quantitative |= {f"z_{k}": round(v, 2) for k, v in result.z_scores.items()}
    quantitative |= {k: round(v, 2) for k, v in result.volumes.items() if k.endswith("_ml")}
    if "cerebellum_to_cortex" in result.ratios:
        quantitative["cerebellar_cerebral_ratio"] = round(result.ratios["cerebellum_to_cortex"], 4)
    note = f"omscds imaging ({result.kind}): {result.interpretation}"
    if result.qc.get("warnings"):
        note += " QC: " + "; ".join(result.qc["warnings"])
    return {
        "modality": "perfusion_spect" if result.kind == "spect" else "mri",
        "regions": ["brain"],
        "result": outcome,
        "findings": list(result.findings),
        "quantitative": quantitative,
        "note": note,
    }


def template_affine() -> FloatArray:
    """The affine of the grid that ``AnalysisResult.registered`` and ``zmap`` live on."""
    return np.asarray(_context().template.affine)


def region_masks() -> dict[str, NDArray[np.bool_]]:
    """Region masks on the template grid (for drawing)."""
    return _context().regions.as_dict()
