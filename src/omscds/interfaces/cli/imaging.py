"""``omscds imaging analyze|phantom|batch``: quantitative cerebellar SPECT and MRI (issue 7).

Heavy imports (numpy, SimpleITK, dask, matplotlib) stay inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from omscds.errors import InputError
from omscds.interfaces.cli._common import err_console, out_console, progress_bar

__all__ = ["register"]

imaging_app = typer.Typer(
    help="Cerebellar perfusion (SPECT) and volume (MRI) as evidence; research use.",
    no_args_is_help=True,
)


def _kind(kind: str | None) -> str | None:
    if kind is not None and kind not in ("spect", "mri"):
        raise InputError(f"--kind must be spect or mri, got {kind!r}", path="--kind")
    return kind


def _text(d: dict[str, Any], figures: list[Path]) -> None:
    out_console.print(f"[bold]{d['kind'].upper()}[/bold] {d['source']}")
    meaning = d.get("z_meaning", {})
    for k, v in [*d["ratios"].items(), *d["volumes"].items()]:
        said = meaning.get(k)
        out_console.print(f"  {k:28s} {v:8.3f}" + (f"   {said}" if said else ""))
    if meaning:
        out_console.print(f"  [dim]{d['z_convention']}[/dim]")
    out_console.print(f"  findings: {', '.join(d['findings']) or 'none'}")
    out_console.print(f"  {d['interpretation']}")
    reg = d["qc"].get("registration", {})
    out_console.print(
        f"  QC {d['qc']['status']}: orientation {d['qc'].get('orientation')}, registration "
        f"correlation {reg.get('correlation')}, cerebellum in view "
        f"{d['qc'].get('cerebellum_in_fov')}; {d['seconds']:.1f} s"
    )
    for w in d["qc"].get("warnings", []):
        out_console.print(f"  [yellow]warning[/yellow]: {w}")
    for f in figures:
        out_console.print(f"  figure: {f}")
    out_console.print(f"  [dim]{d['disclaimer']}[/dim]")


@imaging_app.command("analyze")
def analyze_cmd(
    path: str = typer.Argument(..., help="NIfTI file, DICOM file or DICOM folder."),
    kind: str | None = typer.Option(None, "--kind", help="spect or mri (guessed when omitted)."),
    age_months: float | None = typer.Option(None, "--age-months", help="Age for the norms."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    out: Path | None = typer.Option(None, "-o", "--out", help="Folder for figures + JSON."),
    zmap: bool = typer.Option(True, "--zmap/--no-zmap", help="Voxel z-map (SPECT)."),
    figure_format: str = typer.Option("png", "--figure-format", help="png or svg."),
) -> None:
    """Quantify one study: ratios, z-scores against age norms, findings, QC."""
    if fmt not in ("text", "json"):
        raise InputError(f"--format must be text or json, got {fmt!r}", path="--format")
    from omscds.imaging import analyze_path, to_case_test

    res = analyze_path(path, _kind(kind), age_months, zmap=zmap)
    d = res.to_dict()
    d["case_test"] = to_case_test(res)
    figures: list[Path] = []
    if out is not None:
        from omscds.reports.imaging_figures import write_figures

        figures = write_figures(res, out, fmt=figure_format)
        (out / "imaging.json").write_text(json.dumps(d, indent=2), encoding="utf-8")
    d["figures"] = [str(f) for f in figures]
    if fmt == "json":
        typer.echo(json.dumps(d, indent=2))
    else:
        _text(d, figures)


@imaging_app.command("phantom")
def phantom_cmd(
    kind: str = typer.Option("spect", "--kind", help="spect or mri."),
    deficit: float = typer.Option(0.0, "--deficit", help="Cerebellar uptake deficit, 0-0.99."),
    atrophy_mm: float = typer.Option(0.0, "--atrophy-mm", help="Cerebellar rim atrophy (mm)."),
    fwhm: float = typer.Option(10.0, "--fwhm", help="Camera blur FWHM (mm)."),
    counts: float = typer.Option(5e6, "--counts", help="Total counts (SPECT)."),
    seed: int = typer.Option(0, "--seed"),
    size: int = typer.Option(128, "--size", help="Voxels per axis."),
    spacing: float = typer.Option(2.2, "--spacing", help="Voxel size (mm)."),
    age_months: float = typer.Option(24.0, "--age-months", help="Age whose norms it follows."),
    unilateral: bool = typer.Option(False, "--unilateral", help="Left cerebellum only."),
    variants: str = typer.Option(
        "standard", "--dicom-variants", help="Comma-separated NM DICOM geometry variants, or all."
    ),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder."),
) -> None:
    """Write a synthetic child-sized study as NIfTI and NM DICOM (geometry variants)."""
    from omscds.imaging import make_phantom, write_nifti
    from omscds.imaging.dicom import VARIANTS, write_nm

    k: Any = _kind(kind) or "spect"
    wanted = list(VARIANTS) if variants == "all" else [v.strip() for v in variants.split(",") if v]
    for v in wanted:
        if v not in VARIANTS:
            raise InputError(f"unknown variant {v!r}; one of {', '.join(VARIANTS)} or all")
    ph = make_phantom(
        k,
        deficit=deficit,
        atrophy_mm=atrophy_mm,
        fwhm=fwhm,
        counts=counts,
        seed=seed,
        shape=(size, size, size),
        spacing=spacing,
        age_months=age_months,
        unilateral=unilateral,
    )
    stem = f"{k}_seed{seed}"
    written = [write_nifti(ph.volume, out / f"{stem}.nii.gz")]
    written += [write_nm(ph.volume, out / f"{stem}_{v}.dcm", v) for v in wanted]  # type: ignore[arg-type]
    (out / f"{stem}.json").write_text(
        json.dumps(ph.params | {"true_matrix": ph.true_matrix.tolist()}, indent=2), "utf-8"
    )
    for p in written:
        out_console.print(str(p))


@imaging_app.command("batch")
def batch_cmd(
    source: str = typer.Argument(..., help="Folder of studies, or a manifest .csv."),
    kind: str | None = typer.Option(None, "--kind", help="spect or mri for every study."),
    age_months: float | None = typer.Option(None, "--age-months", help="Age when not listed."),
    out: Path = typer.Option(Path("imaging-results"), "-o", "--out", help="Results folder."),
    workers: int = typer.Option(2, "--workers", min=1, help="Local worker processes."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="tcp://host:port of Dask."),
) -> None:
    """Analyse many studies in parallel; resumable (finished studies are skipped)."""

    from omscds.imaging.batch import discover, run_batch

    studies = discover(source, age_months)
    with progress_bar(transient=False) as bar:
        task = bar.add_task("studies", total=len(studies))
        rows = run_batch(
            studies,
            out,
            kind=_kind(kind),
            workers=workers,
            scheduler=scheduler,
            progress=lambda n, _total: bar.advance(task, n),
        )
    bad = [r for r in rows if r.get("status") == "error"]
    twins = [r for r in rows if r.get("status") == "duplicate"]
    ok = len(rows) - len(bad) - len(twins)
    extra = f", {len(twins)} duplicate{'s' if len(twins) != 1 else ''} skipped" if twins else ""
    out_console.print(f"{ok} analysed, {len(bad)} refused{extra}; results in {out}")
    for r in twins:
        out_console.print(f"same study: {r['path']} is {r['duplicate_of']} (analysed once)")
    for r in bad:
        err_console.print(f"[red]error[/red]: {r['path']}: {r.get('error')}")
    if bad:
        raise typer.Exit(1)  # a refused study is a failure a script must see (results kept)


def register(app: typer.Typer) -> None:
    app.add_typer(imaging_app, name="imaging")
