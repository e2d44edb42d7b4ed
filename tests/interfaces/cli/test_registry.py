from __future__ import annotations

import json
from pathlib import Path

import pytest

from omscds.interfaces.cli.main import main
from omscds.knowledge import KnowledgeBase

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("OMSCDS_DATABASE_URL", url)
    monkeypatch.setenv("OMSCDS_ACTOR", "cli-test")
    assert main(["registry", "init"]) == 0
    return url


def _scored(tmp_path: Path, total: int) -> str:
    items = dict.fromkeys(
        ("gait", "arm_hand_function", "opsoclonus", "mood_behaviour", "speech"), 0
    )
    case = {
        "age_months": 20,
        # a follow-up visit of a child with OMS: the findings of that visit, and the score
        "findings": {"opsoclonus": "present", "ataxia": "present", "irritability": "present"},
        "severity": {"scale": "mitchell_pike", "items": {"stance": total, **items}},
    }
    path = tmp_path / f"v{total}.json"
    path.write_text(json.dumps(case))
    return str(path)


def test_full_workflow(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "add-visit", str(EXAMPLES / "seed1-01-presentation.json"),
                 "--patient", "S1", "--date", "2024-03-04"]) == 0  # fmt: skip
    assert (
        main(["registry", "add-visit", _scored(tmp_path, 3), "-p", "S1", "--date", "2024-05-01"])
        == 0
    )
    assert main(["registry", "add-treatment", "-p", "S1", "--agent", "IVIG", "--start", "2024-03-02",
                 "--dose", "2 g/kg"]) == 0  # fmt: skip
    assert main(["registry", "add-relapse", "-p", "S1", "--date", "2024-09-01"]) == 0
    capsys.readouterr()
    assert main(["registry", "show", "S1"]) == 0
    shown = capsys.readouterr().out
    for text in ("2024-03-04", "2024-05-01", "ivig", "2 g/kg", "relapse: 2024-09-01",
                 "Latest assessment", "  - ["):  # fmt: skip
        assert text in shown
    assert main(["registry", "show", "S1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [v["severity_total"] for v in doc["visits"]] == [None, 3]
    assert doc["latest_assessment"]["input_case"]["tests"][0]["date"] == "2024-03-04"
    assert main(["registry", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"][0] == {
        "key": "S1", "external_ids": {}, "visits": 2, "last_visit": "2024-05-01"
    }  # fmt: skip
    out = tmp_path / "t.svg"
    assert main(["registry", "timeline", "S1", "-o", str(out)]) == 0
    assert "IVIG" in out.read_text()


@pytest.mark.parametrize("fmt", ["jsonl", "fhir"])
def test_export_import_round_trip(
    db: str, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["registry", "add-visit", _scored(tmp_path, 2), "-p", "A", "--date", "2024-01-01"])
    main(["registry", "add-treatment", "-p", "A", "--agent", "acth", "--start", "2024-01-02"])
    first, second = tmp_path / f"1.{fmt}", tmp_path / f"2.{fmt}"
    assert main(["registry", "export", "-f", fmt, "-o", str(first)]) == 0
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    assert main(["registry", "init", "--database", other]) == 0
    assert main(["registry", "import", str(first), "--database", other]) == 0
    assert main(["registry", "export", "-f", fmt, "-o", str(second), "--database", other]) == 0
    assert first.read_text() == second.read_text()
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["registry", "add-visit", "{case}", "-p", "A"], 2, "date: a visit needs a date"),
        (["registry", "add-visit", "{bad}", "-p", "A", "--date", "2024-01-01"], 2, "tests[0].result"),
        (["registry", "add-visit", "missing.json", "-p", "A", "--date", "2024-01-01"], 2, "no such file"),
        (["registry", "add-treatment", "-p", "A", "--agent", "x", "--start", "2024-01-01"], 2, "agent"),
        (["registry", "show", "nobody"], 2, "no patient with key 'nobody'"),
        (["registry", "timeline", "A", "-o", "{tmp}/t.pdf"], 2, ".svg or .png"),
        (["registry", "import", "{garbage}"], 2, "line 1"),
        (["registry", "list", "--database", "mysql://h/db"], 1, "unsupported database"),
    ],
)  # fmt: skip
def test_errors_are_one_line_with_exit_status(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int,
    message: str,
) -> None:  # fmt: skip
    main(["registry", "add-visit", _scored(tmp_path, 1), "-p", "A", "--date", "2024-01-01"])
    (tmp_path / "case.json").write_text(json.dumps({"age_months": 4}))
    (tmp_path / "bad.json").write_text(
        json.dumps({"age_months": 4, "tests": [{"modality": "mibg", "result": "postive"}]})
    )
    (tmp_path / "garbage.jsonl").write_text("{oops\n")
    subst = {"{case}": str(tmp_path / "case.json"), "{bad}": str(tmp_path / "bad.json"),
             "{garbage}": str(tmp_path / "garbage.jsonl")}  # fmt: skip
    argv = [subst.get(a, a).replace("{tmp}", str(tmp_path)) for a in args]
    capsys.readouterr()
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_uninitialised_database_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "list", "--database", str(tmp_path / "none.sqlite3")]) == 1
    assert "omscds registry init" in capsys.readouterr().err


def test_the_settings_reach_the_registry(
    db: str, tmp_path: Path, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``OMSCDS_ACTOR`` and ``OMSCDS_REGISTRY_ALLOW_IDENTIFIERS`` are read by the one settings
    class and passed on: the storage layer reads no environment."""
    import sqlalchemy as sa

    from omscds.storage import open_registry
    from omscds.storage.tables import audit_log

    main(["registry", "add-visit", _scored(tmp_path, 2), "-p", "A", "--date", "2024-01-01"])
    reg = open_registry(db, kb)
    with reg.engine.connect() as conn:
        actors = {row[0] for row in conn.execute(sa.select(audit_log.c.actor))}
    reg.close()
    assert actors == {"cli-test"}
    named = f"sqlite:///{tmp_path / 'named.sqlite3'}"
    reg = open_registry(named, kb, create=True, allow_identifiers=True)
    reg.add_patient("N-1", {"name": "Ann"})
    reg.close()
    dump = tmp_path / "named.jsonl"
    assert main(["registry", "export", "-o", str(dump), "--database", named]) == 0
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    assert main(["registry", "init", "--database", other]) == 0
    assert main(["registry", "import", str(dump), "--database", other]) == 2  # refused
    monkeypatch.setenv("OMSCDS_REGISTRY_ALLOW_IDENTIFIERS", "1")
    assert main(["registry", "import", str(dump), "--database", other]) == 0
