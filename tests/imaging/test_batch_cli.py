"""Batch (local Dask cluster, 2 processes) and the ``omscds imaging`` commands."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from omscds.imaging import write_nifti
from omscds.imaging.batch import discover, run_batch
from omscds.interfaces.cli.main import main

from .conftest import small_phantom


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("studies")
    write_nifti(small_phantom(seed=11).volume, d / "a_spect.nii.gz")
    write_nifti(small_phantom(seed=12, deficit=0.4).volume, d / "b_spect.nii.gz")
    (d / "c_spect.nii.gz").write_bytes(b"broken")
    return d


def test_batch_runs_in_parallel_and_resumes(studies: Path, tmp_path: Path) -> None:
    found = discover(studies, default_age=24)
    assert [s.id for s in found] == ["a_spect.nii.gz", "b_spect.nii.gz", "c_spect.nii.gz"]
    seen: list[int] = []
    rows = run_batch(found, tmp_path, kind="spect", workers=2, progress=lambda n, t: seen.append(n))
    by_id = {r["id"]: r for r in rows}
    assert by_id["a_spect.nii.gz"]["findings"] == []
    assert by_id["b_spect.nii.gz"]["findings"] == ["cerebellar_hypoperfusion"]
    assert by_id["c_spect.nii.gz"]["status"] == "error"
    assert "NIfTI" in by_id["c_spect.nii.gz"]["error"]
    with (tmp_path / "results.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 3 and "cerebellum_to_cortex" in table[0]
    # resumable: the two finished studies are skipped, only the broken one is retried
    seen.clear()
    run_batch(found, tmp_path, kind="spect", workers=2, progress=lambda n, t: seen.append(n))
    assert seen[0] == 2 and sum(seen) == 3
    assert len(json.loads((tmp_path / "results.json").read_text())) == 3


def test_manifest_csv(studies: Path, tmp_path: Path) -> None:
    m = tmp_path / "manifest.csv"
    m.write_text(f"id,path,kind,age_months\nx,{studies / 'a_spect.nii.gz'},spect,30\n")
    (s,) = discover(m)
    assert (s.id, s.kind, s.age_months) == ("x", "spect", 30.0)
    m.write_text("id,path,age_months\nx,a.nii.gz,two\n")
    from omscds.errors import InputError

    with pytest.raises(InputError, match="not a number"):
        discover(m)


def test_cli_analyze_json_and_figures(
    studies: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "imaging",
            "analyze",
            str(studies / "b_spect.nii.gz"),
            "--age-months",
            "24",
            "--format",
            "json",
            "-o",
            str(tmp_path),
        ]
    )
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("kind", "ratios", "z_scores", "findings", "qc", "seconds"):
        assert key in d
    assert d["kind"] == "spect" and "cerebellum_to_cortex" in d["ratios"]
    assert d["findings"] == ["cerebellar_hypoperfusion"]
    assert d["case_test"]["modality"] == "perfusion_spect"
    assert (tmp_path / "imaging_overlay.png").stat().st_size > 1000
    assert (tmp_path / "imaging_zmap.png").exists()


def test_cli_broken_file_is_a_clear_error(
    studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["imaging", "analyze", str(studies / "c_spect.nii.gz"), "--kind", "spect"])
    err = capsys.readouterr().err
    assert rc == 2 and "not a readable NIfTI" in err and "Traceback" not in err


def test_cli_kind_needed_when_unguessable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nifti(small_phantom(seed=1).volume, tmp_path / "scan.nii.gz")
    assert main(["imaging", "analyze", str(tmp_path / "scan.nii.gz")]) == 2
    assert "--kind" in capsys.readouterr().err


def test_cli_phantom_writes_nifti_and_dicom_variants(tmp_path: Path) -> None:
    rc = main(
        [
            "imaging",
            "phantom",
            "--kind",
            "spect",
            "--deficit",
            "0.3",
            "--seed",
            "4",
            "--size",
            "32",
            "--spacing",
            "6",
            "--counts",
            "1e6",
            "--dicom-variants",
            "standard,negative_spacing",
            "-o",
            str(tmp_path),
        ]
    )
    assert rc == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "spect_seed4.json",
        "spect_seed4.nii.gz",
        "spect_seed4_negative_spacing.dcm",
        "spect_seed4_standard.dcm",
    ]
    assert json.loads((tmp_path / "spect_seed4.json").read_text())["deficit"] == 0.3
    assert main(["imaging", "phantom", "--deficit", "1.5", "-o", str(tmp_path)]) == 2


def test_same_study_in_two_formats_is_analysed_once(tmp_path: Path) -> None:
    from omscds.imaging.dicom import write_nm

    src = tmp_path / "src"
    src.mkdir()
    ph = small_phantom(seed=21)
    write_nifti(ph.volume, src / "p.nii.gz")
    write_nm(ph.volume, src / "p_lr_flip.dcm", "lr_flip")  # same voxels, left/right stored reversed
    write_nm(ph.volume, src / "p_rescale.dcm", "rescale")  # same image, integer-rounded, slope 0.25
    write_nifti(small_phantom(seed=22).volume, src / "q.nii.gz")  # another child, same geometry
    rows = run_batch(discover(src, 24), tmp_path / "out", kind="spect", workers=2)
    by_id = {r["id"]: r for r in rows}
    assert by_id["p.nii.gz"]["status"] == "ok" and by_id["q.nii.gz"]["status"] == "ok"
    for twin in ("p_lr_flip.dcm", "p_rescale.dcm"):
        assert by_id[twin] == {
            "id": twin,
            "path": str(src / twin),
            "status": "duplicate",
            "duplicate_of": "p.nii.gz",
        }
    assert "signature" not in by_id["p.nii.gz"]
    # a rerun keeps the analysed study and finds the repeats again from the stored signature
    rows = run_batch(discover(src, 24), tmp_path / "out", kind="spect", workers=2)
    assert [r["status"] for r in rows] == ["ok", "duplicate", "duplicate", "ok"]
    # at another age the same image is another analysis
    m = tmp_path / "m.csv"
    m.write_text(f"id,path,age_months\na,{src / 'p.nii.gz'},24\nb,{src / 'p_rescale.dcm'},60\n")
    assert [r["status"] for r in run_batch(discover(m), tmp_path / "o2", kind="spect")] == [
        "ok",
        "ok",
    ]


def test_cli_batch_names_the_duplicate_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omscds.imaging.dicom import write_nm

    ph = small_phantom(seed=23)
    write_nifti(ph.volume, tmp_path / "s.nii.gz")
    write_nm(ph.volume, tmp_path / "s.dcm")
    rc = main(
        [
            "imaging",
            "batch",
            str(tmp_path),
            "--kind",
            "spect",
            "--age-months",
            "24",
            "-o",
            str(tmp_path / "res"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "1 analysed, 0 refused, 1 duplicate skipped" in out
    assert "s.nii.gz is s.dcm (analysed once)" in out  # the first in name order is analysed
