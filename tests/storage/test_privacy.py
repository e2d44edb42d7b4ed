"""Privacy by default (issue 12, failure 7): pseudonymous keys, no direct identifiers, no
health-service numbers in free text, and storage errors that never print case content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from omscds.errors import InputError, StorageError
from omscds.interfaces.cli.main import main
from omscds.knowledge import KnowledgeBase
from omscds.storage import Registry, open_registry
from omscds.storage.exchange import import_records, read_jsonl
from omscds.storage.privacy import check_patient_key, identifier_shape


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("John.Smith.2019-01-02", "a date"),
        ("P20190102", "a date"),
        ("child-02.01.2019", "a date"),
        ("9434765919", "NHS"),
        ("943-476-5919", "NHS"),
        ("123-45-6789", "social security"),
        ("mrn123456789", "long number"),
        ("John.Smith", "name"),
        ("mary-jones-7", "name"),
        ("JohnSmith", "name"),
        ("Jane Doe", "1-128 letters"),
    ],
)
def test_keys_that_are_not_pseudonyms_are_refused(key: str, why: str) -> None:
    with pytest.raises(InputError, match=why) as err:
        check_patient_key(key)
    assert err.value.path == "patient"


@pytest.mark.parametrize("key", ["OMS-0042", "seed1", "A-1", "GOSH-OMS-001", "P000123", "axp-3"])
def test_pseudonyms_are_accepted(key: str) -> None:
    assert check_patient_key(key) == key


def test_registry_refuses_a_name_as_a_new_key(registry: Registry, build: Any) -> None:
    with pytest.raises(InputError, match="pseudonym") as err:
        registry.add_visit("John.Smith.2019-01-02", build.visit(3), "2024-01-01")
    assert err.value.path == "patient"
    assert registry.list_patients().total == 0 and registry.audit().total == 0


def test_a_key_stored_before_the_rules_still_reads(db_url: str, kb: KnowledgeBase) -> None:
    from sqlalchemy import text

    reg = open_registry(db_url, kb, create=True)
    with reg.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (key, external_ids, created_at) VALUES ('Ann.Lee', '{}', 't')"
            )
        )
    reg.add_visit("Ann.Lee", {"age_months": 30}, "2024-01-01")  # an existing patient
    assert len(reg.history("Ann.Lee").visits) == 1
    reg.close()


@pytest.mark.parametrize(
    ("ids", "path"),
    [
        ({"name": "Ann"}, "external_ids.name"),
        ({"First_Name": "Ann"}, "external_ids.First_Name"),
        ({"date_of_birth": "x"}, "external_ids.date_of_birth"),
        ({"home address": "1 High St"}, "external_ids.home address"),
        ({"phone": "x"}, "external_ids.phone"),
        ({"email": "x"}, "external_ids.email"),
        ({"nhs_number": "x"}, "external_ids.nhs_number"),
        ({"hospital": "2019-01-02"}, "external_ids.hospital"),
        ({"hospital": "ann@example.org"}, "external_ids.hospital"),
        ({"hospital": "+44 20 7946 0958"}, "external_ids.hospital"),
        ({"hospital": "943 476 5919"}, "external_ids.hospital"),
    ],
)
def test_direct_identifiers_in_external_ids_are_refused(
    registry: Registry, ids: dict[str, str], path: str
) -> None:
    with pytest.raises(InputError, match="identifier") as err:
        registry.add_patient("E-1", ids)
    assert err.value.path == path
    assert registry.list_patients().total == 0


def test_a_setting_allows_identifiers(
    db_url: str, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller says so (the service and the command line, from the settings class); the
    storage layer reads no environment, so the variable alone changes nothing here."""
    monkeypatch.setenv("OMSCDS_REGISTRY_ALLOW_IDENTIFIERS", "1")
    reg = open_registry(db_url, kb, create=True)
    with pytest.raises(InputError):
        reg.add_patient("E-1", {"name": "Ann", "dob": "2019-01-02"})
    reg.close()
    reg = open_registry(db_url, kb, allow_identifiers=True)
    reg.add_patient("E-2", {"name": "Ann", "dob": "2019-01-02"})
    assert reg.history("E-2").patient.external_ids == {"name": "Ann", "dob": "2019-01-02"}
    reg.close()


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda r, b: r.add_treatment("N-1", "ivig", "2024-01-01", note="NHS 943 476 5919"), "note"),
        (lambda r, b: r.add_treatment("N-1", "ivig", "2024-01-01", dose="call 123-45-6789"), "dose"),
        (lambda r, b: r.add_relapse("N-1", "2024-01-01", note="mum: ann@example.org"), "note"),
        (lambda r, b: r.add_visit("N-1", {**b.visit(), "tests": [{"modality": "mri", "regions": ["chest"], "result": "negative", "note": "ref 9434765919"}]}, "2024-01-02"), "tests[0].note"),
        (lambda r, b: r.add_visit("N-1", {**b.visit(), "case_id": "943-476-5919"}, "2024-01-02"), "case_id"),
    ],
)  # fmt: skip
def test_health_service_numbers_in_free_text_are_refused(
    registry: Registry, build: Any, call: Any, path: str
) -> None:
    with pytest.raises(InputError, match="looks like") as err:
        call(registry, build)
    assert err.value.path == path
    assert registry.audit().total == 0


def test_ordinary_notes_are_kept(registry: Registry) -> None:
    registry.add_treatment("N-2", "acth", "2024-01-01", dose="1 000 000 IU, 2 mg/kg", note="from 2024-01-02 to 2024-03-04")  # fmt: skip
    assert registry.history("N-2").treatments[0].dose == "1 000 000 IU, 2 mg/kg"


def test_import_applies_the_same_rules(registry: Registry) -> None:
    lines = [
        '{"type": "patient", "key": "Q-1", "external_ids": {}, "created_at": "t"}',
        '{"type": "relapse", "uid": "r1", "patient": "Q-1", "date": "2024-01-01", '
        '"note": "NHS 943 476 5919", "created_at": "t"}',
    ]
    with pytest.raises(InputError, match="looks like") as err:
        import_records(registry, read_jsonl(lines))
    assert str(err.value).startswith("line 2: note")
    bad_key = ['{"type": "patient", "key": "John.Smith.2019-01-02", "created_at": "t"}']
    with pytest.raises(InputError, match="pseudonym") as err:
        import_records(registry, read_jsonl(bad_key))
    assert str(err.value).startswith("line 1: key")
    ids = ['{"type": "patient", "key": "Q-2", "external_ids": {"dob": "x"}, "created_at": "t"}']
    with pytest.raises(InputError) as err:
        import_records(registry, read_jsonl(ids))
    assert str(err.value).startswith("line 1: external_ids.dob")
    assert registry.list_patients().total == 0


def test_cli_exit_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"age_months": 20}))
    assert main(["registry", "init", "-d", url]) == 0
    capsys.readouterr()
    assert main(["registry", "add-visit", str(case), "-p", "John.Smith.2019-01-02", "--date", "2024-01-01", "-d", url]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "patient" in err and "pseudonym" in err


def test_identifier_shapes() -> None:
    assert identifier_shape("dose 2 mg/kg on 2024-01-02 and 2024-03-04") is None
    assert identifier_shape("left adrenal, 3.2 cm") is None
    assert identifier_shape("1EG4-TE5-MK73") is not None


# -- a full disk (or any storage failure) never prints case content ------------------------
def _full_disk(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _small(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA max_page_count = 40")  # about 160 KB: SQLITE_FULL beyond


def _big_case() -> dict[str, Any]:
    return {"age_months": 20, "extensions": {"secret": "CASECONTENT" * 40_000}}


def test_disk_full_error_carries_no_case_content(tmp_path: Path, kb: KnowledgeBase) -> None:
    url = f"sqlite:///{tmp_path / 'full.sqlite3'}"
    reg = open_registry(url, kb, create=True)
    reg.engine.dispose()
    _full_disk(reg.engine)
    with pytest.raises(StorageError) as err:
        reg.add_visit("D-1", _big_case(), "2024-01-01", assess_now=False)
    message = str(err.value)
    assert "full" in message and "CASECONTENT" not in message and "D-1" not in message
    assert len(message) < 300
    reg.close()


def test_disk_full_in_the_cli_prints_one_clean_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from omscds.storage import database, repository

    url = f"sqlite:///{tmp_path / 'full.sqlite3'}"
    assert main(["registry", "init", "-d", url]) == 0
    case = tmp_path / "case.json"
    case.write_text(json.dumps(_big_case()))

    def small_engine(u: str | None = None, **kw: Any) -> Any:
        engine = database.make_engine(u, **kw)
        _full_disk(engine)
        return engine

    monkeypatch.setattr(repository, "make_engine", small_engine)
    capsys.readouterr()
    code = main(["registry", "add-visit", str(case), "-p", "D-2", "--date", "2024-01-01", "-d", url])  # fmt: skip
    out = capsys.readouterr()
    assert code == 1
    assert "full" in out.err and "CASECONTENT" not in out.err + out.out
    assert len(out.err.strip().splitlines()) <= 2


# -- properties ------------------------------------------------------------------------------
_CODES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)
_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.;()/", max_size=40)


@given(code=_CODES, site=st.none() | _CODES, n=st.integers(0, 999_999))
def test_site_and_number_codes_are_always_pseudonyms(code: str, site: str | None, n: int) -> None:
    key = f"{site}-{code}-{n:06d}" if site else f"{code}{n}"
    assert check_patient_key(key) == key


@given(
    before=_WORDS,
    after=_WORDS,
    digits=st.integers(10**9, 10**10 - 1),
    sep=st.sampled_from(["", " ", "-"]),
)
def test_any_ten_digit_number_in_free_text_is_found(
    before: str, after: str, digits: int, sep: str
) -> None:
    d = str(digits)
    number = sep.join([d[:3], d[3:6], d[6:]])
    assert identifier_shape(f"{before} {number} {after}") is not None
