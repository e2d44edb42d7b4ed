"""The CLI tested through main(): exit codes, formats, and one-line errors naming the field."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omscds.interfaces.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "examples" / "seed1-02-mibg-negative.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_assess_text_report_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "assess", str(SEED))
    assert code == 0, err
    for text in (
        "criteria met",
        "Occult tumour",
        "NOT COVERED",
        "What to do next",
        "References",
        "does not diagnose",
        "knowledge base 2026",
    ):
        assert text in out
    assert "Traceback" not in out + err


def test_assess_json_is_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "assess", "--format", "json", str(SEED))
    assert code == 0
    doc = json.loads(out)
    assert doc["case_id"] == "seed1-02-mibg-negative"
    assert doc["knowledge_base"]["version"]
    assert doc["oms"]["status"] == "criteria_met"
    assert doc["tumour"]["status"] == "search_incomplete"
    assert any(r["id"] == "body_imaging" for r in doc["recommendations"])
    assert "comes first because it is urgent" in doc["plan_rationale"]
    assert "Among studies, mri of neck, chest, abdomen, pelvis leads" in doc["plan_rationale"]


def test_assess_markdown_and_several_cases(capsys: pytest.CaptureFixture[str]) -> None:
    cases = sorted(str(p) for p in (ROOT / "examples").glob("*.json"))
    code, out, _ = run(capsys, "assess", "-f", "markdown", *cases)
    assert code == 0
    assert out.count("## OMS criteria (3 of 4)") == len(cases)


def test_assess_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SEED.read_text()))
    code, out, _ = run(capsys, "assess", "-f", "json", "-")
    assert code == 0 and json.loads(out)["case_id"] == "seed1-02-mibg-negative"


def test_yaml_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("age_months: 20\nfindings:\n  opsoclonus: present\n")
    code, out, _ = run(capsys, "assess", "-f", "json", str(p))
    assert code == 0 and json.loads(out)["oms"]["criteria_count"] == 1


@pytest.mark.parametrize(
    ("content", "suffix", "expected"),
    [
        (
            '{"age_months": 19, "tests": [{"modality": "mibg", "result": "postive"}]}',
            ".json",
            "tests[0].result: 'postive' is not one of",
        ),
        ('{"age_months": 19,', ".json", "not valid JSON"),
        ("age_months: [", ".yaml", "not valid YAML"),
        ("", ".json", "the file is empty"),
        (
            '{"age_months": 19, "findings": {"wobble": "present"}}',
            ".json",
            "findings.wobble: unknown finding",
        ),
        (
            '{"age_months": 19, "severity": {"scale": "mitchell_pike", "items": {"gait": 9}}}',
            ".json",
            "severity.items.gait: 9 is outside 0-3",
        ),
    ],
)
def test_bad_input_exits_2_with_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, suffix: str, expected: str
) -> None:
    p = tmp_path / f"bad{suffix}"
    p.write_text(content)
    code, _, err = run(capsys, "assess", str(p))
    assert code == 2
    assert expected in err.replace("\n", " ")
    assert "Traceback" not in err


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "assess", "/no/such/case.json")
    assert code == 2 and "no such file" in err
    assert err.count("/no/such/case.json") == 1  # the file named once, not twice


def test_every_problem_at_once_with_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown finding is reported with the contract's errors, not after they are fixed."""
    p = tmp_path / "typos.json"
    p.write_text(
        json.dumps(
            {
                "age_months": "x",
                "findngs": {},
                "findings": {"opsoclonos": "present", "ataxia": "presnt"},
                "tests": [{"modality": "mibj", "result": "negative"}],
            }
        )
    )
    code, _, err = run(capsys, "assess", str(p))
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 5, err  # one line per problem
    assert len(set(lines)) == len(lines)
    for hint in ("'findings'?", "'present'?", "'mibg'?", "'opsoclonus'?"):
        assert sum(hint in line for line in lines) == 1, (hint, err)
    assert "age_months" in err


def test_brief_is_one_line_per_case(capsys: pytest.CaptureFixture[str]) -> None:
    cases = sorted((ROOT / "examples").glob("*.json"))
    code, out, _ = run(capsys, "assess", "-f", "brief", *map(str, cases))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(cases)
    for path, line in zip(cases, lines, strict=True):
        assert line.startswith(f"{path.stem}: ") and "| phase " in line and "| next: " in line


def test_reports_are_not_hard_wrapped_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "assess", str(SEED), "-f", "markdown")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) > 100  # long lines kept whole
    assert any(line.startswith("**Phase: ") and line.endswith("**") for line in out.splitlines())


def test_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(SEED))
    assert code == 0 and "valid" in out
    bad = tmp_path / "b.json"
    bad.write_text('{"age_months": "x"}')
    code, _, err = run(capsys, "validate", str(bad))
    assert code == 2 and "age_months" in err


@pytest.mark.parametrize("which", ["case", "assessment"])
def test_schema(capsys: pytest.CaptureFixture[str], which: str) -> None:
    code, out, _ = run(capsys, "schema", which)
    assert code == 0
    schema = json.loads(out)
    assert "properties" in schema and "$schema" in schema


def test_kb_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "kb", "info")
    assert code == 0 and "sha256" in out
    code, out, _ = run(capsys, "kb", "sources")
    assert code == 0 and "pranzatelli_2017" in out
    code, out, _ = run(capsys, "kb", "check")
    assert code == 0 and "assumption:" in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "assess", "--format", "pdf", str(SEED))
    assert code == 2 and "pdf" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("omscds ")


MUTATIONS: list[tuple[str, Any, str]] = [
    ("age_months", -5, "age_months"),
    ("age_months", "nineteen", "age_months"),
    ("sex", "F", "sex"),
    ("findings", {"opsoclonus": "maybe"}, "findings.opsoclonus"),
    ("tests", [{"modality": "ct", "result": "negative"}], "tests[0].regions"),
    ("tests", [{"modality": "xray", "result": "negative"}], "tests[0].modality"),
    ("history", {"preceding_infection": "often"}, "history.preceding_infection"),
    ("bogus", 1, "bogus"),
]


@settings(max_examples=len(MUTATIONS) * 2, deadline=None)
@given(st.sampled_from(MUTATIONS))
def test_invalid_mutations_exit_2_naming_the_path(mutation: tuple[str, Any, str]) -> None:
    key, value, path = mutation
    case = json.loads(SEED.read_text())
    case[key] = value
    import contextlib
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(case, fh)
    err = io.StringIO()
    try:
        # Rich's stderr console looks up sys.stderr at each write, so redirecting is enough
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(["assess", fh.name])
    finally:
        Path(fh.name).unlink()
    assert code == 2
    assert f"{path}:" in err.getvalue().replace("\n", " ")


@pytest.mark.parametrize(
    ("text", "suffix", "fragment"),
    [
        ('{"age_months": 19, "age_months": 3}', ".json", "age_months: duplicate key"),
        ("age_months: 19\nage_months: 3\n", ".yaml", "duplicate key"),
        ('{"age_months": true}', ".json", "age_months: Input should be a valid number"),
        ('{"age_months": NaN}', ".json", "age_months: NaN"),
        (
            '{"age_months": 19, "case_id": "x\\u001b[2J"}',
            ".json",
            "case_id: contains the invisible",
        ),
        (
            '{"age_months": 19, "tests": [{"modality": "mibg", "result": "negative", '
            '"date": "2999-01-01"}]}',
            ".json",
            "tests[0].date: 2999-01-01 is in the future",
        ),
        ("[" * 100_000 + "]" * 100_000, ".json", "nested deeper"),
    ],
)
def test_input_that_would_change_meaning_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, suffix: str, fragment: str
) -> None:
    path = tmp_path / f"case{suffix}"
    path.write_text(text)
    for command in ("assess", "validate"):
        code = main([command, str(path)])
        err = capsys.readouterr().err
        assert code == 2, (command, err)
        assert fragment in " ".join(err.split()), err
        assert "Traceback" not in err
