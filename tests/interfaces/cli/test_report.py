"""``omscds report CASE -o report.html|report.pdf`` through main()."""

from __future__ import annotations

from pathlib import Path

import pytest

from omscds.interfaces.cli.main import main
from tests.conftest import EXAMPLES

CASE = str(EXAMPLES / "seed1-02-mibg-negative.json")


def test_html_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", CASE, "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "What to do next" in html and "References" in html


def test_pdf_report(tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    assert main(["report", CASE, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([CASE, "-o", "report.txt"], "use a .html or .pdf file name"),
        (["missing.json", "-o", "r.pdf"], "no such file"),
        ([CASE, "-o", "/no/such/dir/r.pdf"], "no such directory"),
    ],
)
def test_bad_input_is_a_clear_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["report", *args]) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_pdf_report_with_the_parents_page(tmp_path: Path) -> None:
    import io

    from pypdf import PdfReader

    plain, parents = tmp_path / "r.pdf", tmp_path / "p.pdf"
    assert main(["report", CASE, "-o", str(plain)]) == 0
    assert main(["report", CASE, "-o", str(parents), "--parents"]) == 0
    n = len(PdfReader(io.BytesIO(plain.read_bytes())).pages)
    pages = PdfReader(io.BytesIO(parents.read_bytes())).pages
    assert len(pages) == n + 1 and "For parents" in pages[-1].extract_text()
