"""The program catalogue holds the numbers and codes of decision 6374/QĐ-UBND."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from ledger.catalogue import (
    ACTIVITY_KINDS,
    CURRENT_DISTRICTS,
    DEPARTMENTS,
    DISTRICTS,
    HISTORICAL_DISTRICTS,
    PROGRAM,
    PROJECTS,
    ROLES,
    SECTORS,
    SIZES,
    SOURCES,
    SUPPORT_TYPES,
    TARGETS,
    support_type_allowed,
    support_types_for,
    target_for,
)


def test_the_program_is_decision_6374_of_27_december_2010_for_2010_to_2020() -> None:
    assert PROGRAM.code == "NSCL-HN"
    assert PROGRAM.decision_no == "6374/QĐ-UBND"
    assert PROGRAM.decided_on == date(2010, 12, 27)
    assert (PROGRAM.period_start, PROGRAM.period_end) == (2010, 2020)
    assert PROGRAM.parent_decision == "712/QĐ-TTg"


@pytest.mark.parametrize(
    ("code", "number", "unit", "project", "approximate"),
    [
        ("tech_innovation", 25, "enterprises", "DA3", False),
        ("tech_transfer", 25, "enterprises", "DA3", True),
        ("patents", 50, "registrations", "DA4", False),
        ("industrial_designs", 200, "registrations", "DA4", False),
        ("marks_gi", 40, "marks", "DA4", False),
        ("conformity_certification", 250, "enterprises", "DA1", True),
        ("base_standards", 500, "standards", "DA1", True),
        ("management_systems", 500, "enterprises", "DA2", True),
    ],
)
def test_each_target_has_the_number_unit_and_project_of_the_decision(
    code: str, number: int, unit: str, project: str, approximate: bool
) -> None:
    target = TARGETS[code]
    assert target.code == code
    assert target.number == number
    assert target.unit == unit
    assert target.project == project
    assert target.approximate is approximate


def test_there_are_exactly_eight_targets() -> None:
    assert len(TARGETS) == 8
    assert [t.number for t in TARGETS.values()] == [25, 25, 50, 200, 40, 250, 500, 500]


def test_targets_in_enterprises_count_enterprises_and_the_others_sum_outputs() -> None:
    for target in TARGETS.values():
        expected = "enterprises" if target.unit == "enterprises" else "sum"
        assert target.unit_kind == expected, target.code


def test_there_are_exactly_four_projects_each_led_by_dost() -> None:
    assert list(PROJECTS) == ["DA1", "DA2", "DA3", "DA4"]
    for code, project in PROJECTS.items():
        assert project.code == code
        assert project.lead == "SKHCN"


def test_every_project_lists_its_lettered_content_lines() -> None:
    counts = {code: len(project.content_lines) for code, project in PROJECTS.items()}
    assert counts == {"DA1": 4, "DA2": 2, "DA3": 5, "DA4": 3}
    for project in PROJECTS.values():
        assert all(line.strip() for line in project.content_lines)


def test_every_coordinating_body_is_a_known_department_other_than_the_lead() -> None:
    for project in PROJECTS.values():
        assert project.lead in DEPARTMENTS
        for body in project.coordinating:
            assert body in DEPARTMENTS, (project.code, body)
        assert project.lead not in project.coordinating
        assert len(set(project.coordinating)) == len(project.coordinating)


@pytest.mark.parametrize(
    ("project", "departments", "with_districts"),
    [
        ("DA1", {"SCT", "SNNPTNT", "STNMT", "SXD", "SGTVT", "SYT", "STC", "SKHDT", "STTTT"}, True),
        ("DA2", {"SCT", "SXD", "SGTVT", "STNMT", "SYT", "STC", "SKHDT", "STTTT"}, True),
        (
            "DA3",
            {"SCT", "SNNPTNT", "SKHDT", "STC", "STTTT", "SNV", "SGTVT", "SXD"}
            | {"LHHKHKT", "HHDNVVN"},
            False,
        ),
        ("DA4", {"SNNPTNT", "SCT", "STTTT", "SKHDT", "STC", "LMHTX", "HHLN"}, True),
    ],
)
def test_each_project_is_coordinated_by_the_bodies_of_section_iii(
    project: str, departments: set[str], with_districts: bool
) -> None:
    coordinating = set(PROJECTS[project].coordinating)
    districts = {code for code in coordinating if code.startswith("QH-")}
    assert coordinating - districts == departments
    assert districts == (set(DISTRICTS) if with_districts else set())


def test_there_are_three_funding_sources_in_the_order_of_the_decision() -> None:
    assert list(SOURCES) == ["enterprise", "city_budget", "other"]
    for code, source in SOURCES.items():
        assert source.code == code


def test_there_are_thirty_current_districts_and_tu_liem_until_2013() -> None:
    assert len(CURRENT_DISTRICTS) == 30
    assert len(set(CURRENT_DISTRICTS)) == 30
    assert "QH-TULIEM" not in CURRENT_DISTRICTS
    assert {"QH-BACTULIEM", "QH-NAMTULIEM", "QH-SONTAY", "QH-BADINH"} <= set(CURRENT_DISTRICTS)
    assert HISTORICAL_DISTRICTS == {"QH-TULIEM": 2013}
    assert set(DISTRICTS) == set(CURRENT_DISTRICTS) | {"QH-TULIEM"}
    assert len(DISTRICTS) == 31


def test_every_district_has_a_peoples_committee_among_the_departments() -> None:
    for code in DISTRICTS:
        assert DEPARTMENTS[code].kind == "district"
        assert DEPARTMENTS[code].name_vi.endswith(DISTRICTS[code])
    assert DISTRICTS["QH-BADINH"] == "Ba Đình"
    assert DEPARTMENTS["QH-BADINH"].name_vi == "UBND quận Ba Đình"
    assert DEPARTMENTS["QH-BAVI"].name_vi == "UBND huyện Ba Vì"
    assert DEPARTMENTS["QH-SONTAY"].name_vi == "UBND thị xã Sơn Tây"
    assert DEPARTMENTS["QH-TULIEM"].name_vi == "UBND huyện Từ Liêm"


def test_the_departments_are_the_bodies_of_section_v_and_the_districts() -> None:
    bodies = {
        "UBND",
        "BCD",
        "SKHCN",
        "SKHDT",
        "STC",
        "SCT",
        "SNNPTNT",
        "STTTT",
        "SXD",
        "SYT",
        "SGTVT",
        "STNMT",
        "SNV",
        "SNGV",
        "LMHTX",
        "LHHKHKT",
        "HHDNVVN",
        "HHLN",
        "MEDIA",
    }
    assert set(DEPARTMENTS) == bodies | set(DISTRICTS)
    for code, department in DEPARTMENTS.items():
        assert department.code == code


def test_every_support_type_maps_to_an_existing_project_and_target_or_none() -> None:
    for code, support in SUPPORT_TYPES.items():
        assert support.code == code
        assert support.project is None or support.project in PROJECTS, code
        assert support.target is None or support.target in TARGETS, code


def test_a_support_type_counts_toward_a_target_of_its_own_project() -> None:
    for support in SUPPORT_TYPES.values():
        if support.target is not None:
            assert TARGETS[support.target].project == support.project, support.code


def test_every_target_is_reachable_from_some_support_type() -> None:
    reached = {s.target for s in SUPPORT_TYPES.values() if s.target is not None}
    assert reached == set(TARGETS)


def test_only_training_and_communication_are_allowed_under_any_project() -> None:
    any_project = {code for code, s in SUPPORT_TYPES.items() if s.project is None}
    assert any_project == {"training", "communication"}


def test_the_grouped_management_systems_and_marks_are_separate_support_types() -> None:
    management = {
        "iso_9001",
        "iso_14001",
        "iso_22000",
        "gmp",
        "sa_8000",
        "ohsas_18001",
        "iso_ts_16949",
        "iso_iec_27001",
        "other_management_system",
        "integrated_management_systems",
    }
    for code in management:
        assert SUPPORT_TYPES[code].project == "DA2"
        assert SUPPORT_TYPES[code].target == "management_systems"
    for code in ("collective_mark", "certification_mark", "geographical_indication"):
        assert SUPPORT_TYPES[code].project == "DA4"
        assert SUPPORT_TYPES[code].target == "marks_gi"


def test_iso_9001_belongs_to_da2_and_counts_toward_management_systems() -> None:
    assert SUPPORT_TYPES["iso_9001"].project == "DA2"
    assert target_for("iso_9001") is TARGETS["management_systems"]


def test_patent_belongs_to_da4_and_counts_toward_patents() -> None:
    assert SUPPORT_TYPES["patent"].project == "DA4"
    assert target_for("patent") is TARGETS["patents"]


def test_tech_innovation_and_transfer_count_toward_da3_targets() -> None:
    innovation = target_for("tech_innovation")
    transfer = target_for("tech_transfer")
    assert innovation is not None and innovation.project == "DA3"
    assert transfer is not None and transfer.project == "DA3"


def test_a_support_type_without_a_target_has_none() -> None:
    assert target_for("training") is None
    assert target_for("improvement_tools") is None


def test_an_unknown_support_type_has_no_target_to_look_up() -> None:
    with pytest.raises(KeyError):
        target_for("no_such_type")


def test_a_patent_is_not_allowed_under_da1() -> None:
    assert support_type_allowed("patent", "DA1") is False
    assert support_type_allowed("patent", "DA4") is True


def test_training_is_allowed_under_any_project() -> None:
    assert support_type_allowed("training", "DA1") is True
    for project in PROJECTS:
        assert support_type_allowed("training", project)
        assert support_type_allowed("communication", project)


def test_unknown_codes_are_not_allowed() -> None:
    assert support_type_allowed("no_such_type", "DA1") is False
    assert support_type_allowed("training", "DA9") is False
    assert support_types_for("DA9") == ()


def test_the_support_types_for_a_project_are_its_own_plus_the_any_project_types() -> None:
    for project in PROJECTS:
        codes = {s.code for s in support_types_for(project)}
        expected = {code for code, s in SUPPORT_TYPES.items() if s.project in (project, None)}
        assert codes == expected
        assert {"training", "communication"} <= codes
        assert all(support_type_allowed(code, project) for code in codes)
    assert "patent" not in {s.code for s in support_types_for("DA1")}


def test_the_vocabularies_have_the_codes_the_glossary_lists() -> None:
    assert list(SECTORS) == [
        "industry",
        "food",
        "agriculture",
        "construction",
        "transport",
        "health",
        "ict",
        "trade_services",
        "craft_village",
    ]
    assert SIZES == {"micro": "siêu nhỏ", "small": "nhỏ", "medium": "vừa", "large": "lớn"}
    assert set(ACTIVITY_KINDS) == {
        "training",
        "communication",
        "testing_equipment",
        "building_standards",
        "survey",
        "international_cooperation",
    }
    assert ROLES == ("admin", "officer", "finance", "leader", "inspector", "viewer")


def test_catalogue_records_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROJECTS["DA1"].lead = "STC"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        TARGETS["patents"].number = 1  # type: ignore[misc]
