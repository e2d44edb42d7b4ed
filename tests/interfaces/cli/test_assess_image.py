"""`omscds assess CASE --image scan.nii.gz`: a quantified SPECT becomes evidence in the case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omscds.imaging import make_phantom, write_nifti
from omscds.interfaces.cli.main import main

CASE = {
    "case_id": "seed2-image",
    "age_months": 24,
    "sex": "female",
    "findings": {"ataxia": "present"},
}


@pytest.mark.parametrize(("deficit", "flagged"), [(0.5, True), (0.0, False)])
def test_spect_becomes_case_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], deficit: float, flagged: bool
) -> None:
    ph = make_phantom(
        "spect", deficit=deficit, seed=3, shape=(64, 64, 64), spacing=3.5, age_months=24
    )
    scan = write_nifti(ph.volume, tmp_path / "spect.nii.gz")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    code = main(["assess", "-f", "json", str(case), "--image", str(scan), "--image-kind", "spect"])
    out, err = capsys.readouterr()
    assert code == 0, err
    a = json.loads(out)
    rec_ids = {r["id"] for r in a["recommendations"]}
    alerts = {x["id"] for x in a["alerts"]}
    if flagged:
        # the seed child's pattern: flagged, and turned into the body search
        assert "body_imaging" in rec_ids
        assert "hypoperfusion_nonspecific" in alerts
        assert a["tumour"]["status"] == "search_incomplete"
    else:
        assert "body_imaging" not in rec_ids
        assert a["tumour"]["status"] == "not_applicable"
    assert "omscds imaging (spect)" in err


def test_image_needs_exactly_one_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    code = main(["assess", str(case), str(case), "--image", "x.nii.gz"])
    assert code == 2 and "--image" in capsys.readouterr().err


def test_unreadable_image_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not an image")
    code = main(["assess", str(case), "--image", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "broken.nii.gz" in err
