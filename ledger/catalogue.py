"""The program catalogue: reference data of decision 6374/QĐ-UBND, versioned in code.

Everything here is read from the decision of the Hanoi People's Committee of 27/12/2010
(``/work/shared/seed/6374-QD-UBND-2010.md``) and from the project glossary, which fixes
the codes the software uses. Where each piece comes from:

* the program, its period and its parent national program (712/QĐ-TTg): the title and
  preamble of the decision, Điều 1;
* the eight numeric targets (``TARGETS``): section I.2.2 "Mục tiêu cụ thể";
* the four projects DA1–DA4 (``PROJECTS``), their content lines and the lead and
  coordinating bodies of each: section III "Các dự án của Chương trình" (items x.1 and
  x.2 of each project);
* the funding sources (``SOURCES``): section IV.2.a "Giải pháp về tài chính";
* the city budget's channels (``CHANNELS``): section V.2–3, how the city's money for the
  program is arranged (with Sở Tài chính and Sở Kế hoạch và Đầu tư);
* the departments and other bodies (``DEPARTMENTS``): section V "Tổ chức thực hiện",
  plus one People's Committee per district of Hanoi (``DISTRICTS``);
* the support types (``SUPPORT_TYPES``): the "Hỗ trợ ..." lines of section III, each
  mapped to one project and to at most one target.

Enterprise classifications (``SECTORS``, ``SIZES``), the kinds of department-run
activities (``ACTIVITY_KINDS``) and the user roles (``ROLES``) are the software's own
vocabulary, listed here so that every code the ledger accepts is defined in one place.

The data is immutable: the records are frozen dataclasses and the collections must not
be changed at run time. A change to the program is a change to this file, reviewed and
versioned like any other code. The module does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

UnitKind = Literal["enterprises", "sum"]
DepartmentKind = Literal["city", "department", "association", "media", "district"]
DistrictLevel = Literal["quận", "huyện", "thị xã"]


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Program:
    """The program approved by the decision."""

    code: str
    name_vi: str
    name_en: str
    decision_no: str
    decided_on: date
    period_start: int
    period_end: int
    parent_decision: str


@dataclass(frozen=True, slots=True)
class Project:
    """One of the four projects (dự án) of section III.

    ``content_lines`` are the lettered content lines (nội dung, nhiệm vụ) of item x.1, in
    order: the first is line a), the second line b), and so on. ``lead`` and
    ``coordinating`` are codes of ``DEPARTMENTS`` (item x.2, "Cơ quan thực hiện").
    """

    code: str
    name_vi: str
    name_en: str
    lead: str
    coordinating: tuple[str, ...]
    content_lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Target:
    """A numeric target of section I.2.2 (mục tiêu cụ thể).

    ``unit_kind`` says how progress is counted: ``"enterprises"`` counts distinct
    enterprises with a passed acceptance of a support type of the target; ``"sum"`` adds
    up the outputs (registrations, marks, standards) recorded at acceptance.
    ``approximate`` is true where the decision says "khoảng" (about).
    """

    code: str
    name_vi: str
    number: int
    unit: str
    unit_kind: UnitKind
    project: str
    approximate: bool


@dataclass(frozen=True, slots=True)
class FundingSource:
    """A source of funds of section IV.2.a."""

    code: str
    name_vi: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Department:
    """A body that takes part in the program (section V), or a district People's Committee."""

    code: str
    name_vi: str
    kind: DepartmentKind


@dataclass(frozen=True, slots=True)
class SupportType:
    """A kind of support an enterprise can apply for (loại hỗ trợ).

    ``project`` is the one project the support belongs to, or ``None`` for the types that
    every project runs (``training``, ``communication``): an application of such a type
    still belongs to a single project, chosen when it is filed, and any project is
    allowed. ``target`` is the target the support counts toward, or ``None``.
    """

    code: str
    project: str | None
    name_vi: str
    target: str | None


# --------------------------------------------------------------------------------------
# The program (title and preamble of the decision)
# --------------------------------------------------------------------------------------

PROGRAM: Final = Program(
    code="NSCL-HN",
    name_vi=(
        "Chương trình nâng cao năng suất và chất lượng sản phẩm, hàng hóa của doanh nghiệp"
        " trên địa bàn thành phố Hà Nội giai đoạn 2010–2020"
    ),
    name_en=(
        "Program to improve the productivity and quality of products and goods of"
        " enterprises in Hanoi, 2010–2020"
    ),
    decision_no="6374/QĐ-UBND",
    decided_on=date(2010, 12, 27),
    period_start=2010,
    period_end=2020,
    parent_decision="712/QĐ-TTg",
)


# --------------------------------------------------------------------------------------
# Districts of Hanoi (one People's Committee each; coordinating bodies of section III)
# --------------------------------------------------------------------------------------

DISTRICT_LEVELS: Final[dict[str, DistrictLevel]] = {
    # 12 urban districts (quận)
    "QH-BADINH": "quận",
    "QH-HOANKIEM": "quận",
    "QH-TAYHO": "quận",
    "QH-LONGBIEN": "quận",
    "QH-CAUGIAY": "quận",
    "QH-DONGDA": "quận",
    "QH-HAIBATRUNG": "quận",
    "QH-HOANGMAI": "quận",
    "QH-THANHXUAN": "quận",
    "QH-HADONG": "quận",
    "QH-BACTULIEM": "quận",
    "QH-NAMTULIEM": "quận",
    # 1 town (thị xã)
    "QH-SONTAY": "thị xã",
    # 17 rural districts (huyện)
    "QH-BAVI": "huyện",
    "QH-CHUONGMY": "huyện",
    "QH-DANPHUONG": "huyện",
    "QH-DONGANH": "huyện",
    "QH-GIALAM": "huyện",
    "QH-HOAIDUC": "huyện",
    "QH-MELINH": "huyện",
    "QH-MYDUC": "huyện",
    "QH-PHUXUYEN": "huyện",
    "QH-PHUCTHO": "huyện",
    "QH-QUOCOAI": "huyện",
    "QH-SOCSON": "huyện",
    "QH-THACHTHAT": "huyện",
    "QH-THANHOAI": "huyện",
    "QH-THANHTRI": "huyện",
    "QH-THUONGTIN": "huyện",
    "QH-UNGHOA": "huyện",
    # historical: split into Bắc Từ Liêm and Nam Từ Liêm in 2014
    "QH-TULIEM": "huyện",
}
"""District code -> administrative level (quận, huyện or thị xã)."""

DISTRICTS: Final[dict[str, str]] = {
    "QH-BADINH": "Ba Đình",
    "QH-HOANKIEM": "Hoàn Kiếm",
    "QH-TAYHO": "Tây Hồ",
    "QH-LONGBIEN": "Long Biên",
    "QH-CAUGIAY": "Cầu Giấy",
    "QH-DONGDA": "Đống Đa",
    "QH-HAIBATRUNG": "Hai Bà Trưng",
    "QH-HOANGMAI": "Hoàng Mai",
    "QH-THANHXUAN": "Thanh Xuân",
    "QH-HADONG": "Hà Đông",
    "QH-BACTULIEM": "Bắc Từ Liêm",
    "QH-NAMTULIEM": "Nam Từ Liêm",
    "QH-SONTAY": "Sơn Tây",
    "QH-BAVI": "Ba Vì",
    "QH-CHUONGMY": "Chương Mỹ",
    "QH-DANPHUONG": "Đan Phượng",
    "QH-DONGANH": "Đông Anh",
    "QH-GIALAM": "Gia Lâm",
    "QH-HOAIDUC": "Hoài Đức",
    "QH-MELINH": "Mê Linh",
    "QH-MYDUC": "Mỹ Đức",
    "QH-PHUXUYEN": "Phú Xuyên",
    "QH-PHUCTHO": "Phúc Thọ",
    "QH-QUOCOAI": "Quốc Oai",
    "QH-SOCSON": "Sóc Sơn",
    "QH-THACHTHAT": "Thạch Thất",
    "QH-THANHOAI": "Thanh Oai",
    "QH-THANHTRI": "Thanh Trì",
    "QH-THUONGTIN": "Thường Tín",
    "QH-UNGHOA": "Ứng Hòa",
    "QH-TULIEM": "Từ Liêm",
}
"""District code -> Vietnamese name, for every district that existed during the program."""

HISTORICAL_DISTRICTS: Final[dict[str, int]] = {"QH-TULIEM": 2013}
"""Districts that no longer exist -> the last year in which the code is valid."""

CURRENT_DISTRICTS: Final[tuple[str, ...]] = tuple(
    code for code in DISTRICTS if code not in HISTORICAL_DISTRICTS
)
"""The 30 districts of 2014–2020."""


# --------------------------------------------------------------------------------------
# Departments and bodies (section V)
# --------------------------------------------------------------------------------------

_BODIES: Final[tuple[Department, ...]] = (
    Department("UBND", "Ủy ban nhân dân thành phố Hà Nội", "city"),
    Department("BCD", "Ban chỉ đạo Chương trình", "city"),
    Department("SKHCN", "Sở Khoa học và Công nghệ", "department"),
    Department("SKHDT", "Sở Kế hoạch và Đầu tư", "department"),
    Department("STC", "Sở Tài chính", "department"),
    Department("SCT", "Sở Công thương", "department"),
    Department("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", "department"),
    Department("STTTT", "Sở Thông tin và Truyền thông", "department"),
    Department("SXD", "Sở Xây dựng", "department"),
    Department("SYT", "Sở Y tế", "department"),
    Department("SGTVT", "Sở Giao thông vận tải", "department"),
    Department("STNMT", "Sở Tài nguyên và Môi trường", "department"),
    Department("SNV", "Sở Nội vụ", "department"),
    Department("SNGV", "Sở Ngoại vụ", "department"),
    Department("LMHTX", "Liên minh hợp tác xã thành phố", "association"),
    Department("LHHKHKT", "Liên hiệp các hội khoa học kỹ thuật Hà Nội", "association"),
    Department("HHDNVVN", "Hiệp hội doanh nghiệp vừa và nhỏ", "association"),
    Department("HHLN", "Hiệp hội Làng nghề", "association"),
    Department(
        "MEDIA",
        "Đài Phát thanh – Truyền hình Hà Nội, Báo Hà Nội mới và các cơ quan thông tin đại chúng",
        "media",
    ),
)

DEPARTMENTS: Final[dict[str, Department]] = {
    **{body.code: body for body in _BODIES},
    **{
        code: Department(code, f"UBND {DISTRICT_LEVELS[code]} {name}", "district")
        for code, name in DISTRICTS.items()
    },
}
"""Department code -> body: city bodies, departments (sở), associations, media, and the
People's Committee of each district (``QH-...``, e.g. "UBND quận Ba Đình")."""


# --------------------------------------------------------------------------------------
# Projects (section III)
# --------------------------------------------------------------------------------------

# "UBND các quận, huyện, thị xã phối hợp thực hiện": every district committee of the
# period, the historical ones included, coordinates the projects that name them.
_DISTRICT_COMMITTEES: Final[tuple[str, ...]] = tuple(DISTRICTS)

PROJECTS: Final[dict[str, Project]] = {
    "DA1": Project(
        code="DA1",
        name_vi="Xây dựng, áp dụng tiêu chuẩn, quy chuẩn kỹ thuật và đánh giá sự phù hợp",
        name_en="Standards, technical regulations and conformity assessment",
        lead="SKHCN",
        coordinating=(
            "SCT",
            "SNNPTNT",
            "STNMT",
            "SXD",
            "SGTVT",
            "SYT",
            "STC",
            "SKHDT",
            "STTTT",
            *_DISTRICT_COMMITTEES,
        ),
        content_lines=(
            "Đánh giá hiện trạng việc xây dựng, áp dụng tiêu chuẩn, quy chuẩn kỹ thuật"
            " và đánh giá sự phù hợp",
            "Thông tin tuyên truyền, đào tạo tập huấn và hợp tác quốc tế về công tác"
            " tiêu chuẩn hóa và hoạt động đánh giá sự phù hợp",
            "Hỗ trợ các doanh nghiệp thực hiện xây dựng, áp dụng tiêu chuẩn, quy chuẩn"
            " kỹ thuật và đánh giá sự phù hợp",
            "Tăng cường năng lực kỹ thuật và thực hiện các hệ thống quản lý hoạt động"
            " đo lường thử nghiệm",
        ),
    ),
    "DA2": Project(
        code="DA2",
        name_vi=(
            "Hỗ trợ xây dựng áp dụng hệ thống quản lý tiên tiến và các công cụ cải tiến"
            " để nâng cao năng suất chất lượng của các doanh nghiệp Hà Nội"
        ),
        name_en="Advanced management systems and improvement tools",
        lead="SKHCN",
        coordinating=(
            "SCT",
            "SXD",
            "SGTVT",
            "STNMT",
            "SYT",
            "STC",
            "SKHDT",
            "STTTT",
            *_DISTRICT_COMMITTEES,
        ),
        content_lines=(
            "Thông tin tuyên truyền, đào tạo tập huấn và hợp tác quốc tế về xây dựng và"
            " áp dụng hệ thống quản lý tiên tiến và các công cụ cải tiến",
            "Hỗ trợ các doanh nghiệp xây dựng, áp dụng hệ thống quản lý chất lượng tiên tiến",
        ),
    ),
    "DA3": Project(
        code="DA3",
        name_vi="Phổ biến áp dụng và đổi mới công nghệ trong doanh nghiệp",
        name_en="Technology application and innovation",
        lead="SKHCN",
        coordinating=(
            "SCT",
            "SNNPTNT",
            "SKHDT",
            "STC",
            "STTTT",
            "SNV",
            "SGTVT",
            "SXD",
            "LHHKHKT",
            "HHDNVVN",
        ),
        content_lines=(
            "Xây dựng danh mục các doanh nghiệp, sản phẩm đối tượng và các công nghệ ưu tiên",
            "Giới thiệu, tập huấn và tổ chức đánh giá trình độ công nghệ tại các doanh nghiệp",
            "Hỗ trợ các doanh nghiệp nâng cao năng lực nghiên cứu và tiềm lực KH&CN",
            "Tổ chức hỗ trợ các công nghệ và hỗ trợ việc chuyển giao công nghệ cho doanh nghiệp",
            "Phát hiện, xây dựng, quảng bá và hỗ trợ áp dụng các mô hình",
        ),
    ),
    "DA4": Project(
        code="DA4",
        name_vi="Hỗ trợ phát triển tài sản sở hữu trí tuệ trên địa bàn Hà Nội",
        name_en="Intellectual-property assets",
        # Section 4.2 names SKHCN "and a consulting unit" (đơn vị tư vấn) as leads; the
        # consulting unit is a contractor, not a body of section V.
        lead="SKHCN",
        coordinating=(
            "SNNPTNT",
            "SCT",
            "STTTT",
            "SKHDT",
            "STC",
            "LMHTX",
            "HHLN",
            *_DISTRICT_COMMITTEES,
        ),
        content_lines=(
            "Thông tin tuyên truyền, đào tạo tập huấn và phổ biến kiến thức về phát triển"
            " tài sản sở hữu trí tuệ",
            "Điều tra, khảo sát, đánh giá tiềm năng trong các doanh nghiệp, các làng nghề,"
            " các vùng cây - con đặc sản",
            "Hỗ trợ các doanh nghiệp, làng nghề khai thác, bảo vệ và phát triển tài sản"
            " sở hữu trí tuệ",
        ),
    ),
}
"""Project code -> project, DA1 to DA4 in the order of section III."""


# --------------------------------------------------------------------------------------
# Targets (section I.2.2)
# --------------------------------------------------------------------------------------

TARGETS: Final[dict[str, Target]] = {
    target.code: target
    for target in (
        Target(
            "tech_innovation",
            "hỗ trợ đổi mới công nghệ",
            25,
            "enterprises",
            "enterprises",
            "DA3",
            approximate=False,
        ),
        Target(
            "tech_transfer",
            "hỗ trợ chuyển giao công nghệ",
            25,
            "enterprises",
            "enterprises",
            "DA3",
            approximate=True,
        ),
        Target(
            "patents",
            "đăng ký bảo hộ sáng chế / giải pháp hữu ích",
            50,
            "registrations",
            "sum",
            "DA4",
            approximate=False,
        ),
        Target(
            "industrial_designs",
            "đăng ký bảo hộ kiểu dáng công nghiệp",
            200,
            "registrations",
            "sum",
            "DA4",
            approximate=False,
        ),
        Target(
            "marks_gi",
            "nhãn hiệu tập thể, nhãn hiệu chứng nhận, chỉ dẫn địa lý",
            40,
            "marks",
            "sum",
            "DA4",
            approximate=False,
        ),
        Target(
            "conformity_certification",
            "đánh giá chứng nhận hợp chuẩn, hợp quy",
            250,
            "enterprises",
            "enterprises",
            "DA1",
            approximate=True,
        ),
        Target(
            "base_standards",
            "xây dựng mới tiêu chuẩn cơ sở",
            500,
            "standards",
            "sum",
            "DA1",
            approximate=True,
        ),
        Target(
            "management_systems",
            "hệ thống quản lý chất lượng, môi trường tiên tiến",
            500,
            "enterprises",
            "enterprises",
            "DA2",
            approximate=True,
        ),
    )
}
"""Target code -> target: the eight numbers the program promises for 2010–2020."""


# --------------------------------------------------------------------------------------
# Funding sources (section IV.2.a)
# --------------------------------------------------------------------------------------

SOURCES: Final[dict[str, FundingSource]] = {
    "enterprise": FundingSource(
        "enterprise", "Nguồn vốn của doanh nghiệp", "Enterprise funds (the main source)"
    ),
    "city_budget": FundingSource(
        "city_budget", "Ngân sách nhà nước (ngân sách thành phố)", "City budget"
    ),
    "other": FundingSource("other", "Các nguồn vốn khác", "Other sources"),
}
"""Funding source code -> source, in the order of section IV.2.a."""

#: the one source assigned as budget lines; enterprise and other money is counterpart
#: funding (vốn đối ứng), pledged in approvals and spent as recorded at acceptance
CITY_BUDGET: Final = "city_budget"
#: the counterpart sources, in the order of section IV.2.a
COUNTERPART_SOURCES: Final = ("enterprise", "other")


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel of the city budget through which the program's money is arranged."""

    code: str
    name_vi: str
    name_en: str


CHANNELS: Final[dict[str, Channel]] = {
    "science_recurrent": Channel(
        "science_recurrent",
        "Kinh phí sự nghiệp khoa học và công nghệ",
        "Recurrent science and technology budget (appraised by Sở Tài chính)",
    ),
    "science_fund": Channel(
        "science_fund", "Quỹ phát triển khoa học và công nghệ", "Science and Technology Fund"
    ),
    "investment": Channel(
        "investment",
        "Kinh phí đầu tư cơ sở hạ tầng",
        "Infrastructure investment budget (arranged with Sở Kế hoạch và Đầu tư)",
    ),
}
"""Channel code -> channel of the city budget, section V.2–3."""

#: the channel of a line, an approval or a payment that names none (and of every budget
#: line written before channels existed)
DEFAULT_CHANNEL: Final = "science_recurrent"


# --------------------------------------------------------------------------------------
# Support types (the "Hỗ trợ ..." lines of section III)
# --------------------------------------------------------------------------------------

_MS: Final = "xây dựng, áp dụng"

SUPPORT_TYPES: Final[dict[str, SupportType]] = {
    support.code: support
    for support in (
        # DA1: standards, technical regulations and conformity assessment
        SupportType(
            "conformity_standard",
            "DA1",
            "chứng nhận hợp chuẩn theo tiêu chuẩn quốc gia",
            "conformity_certification",
        ),
        SupportType(
            "conformity_foreign_standard",
            "DA1",
            "chứng nhận hợp chuẩn theo tiêu chuẩn nước ngoài",
            "conformity_certification",
        ),
        SupportType(
            "conformity_regulation", "DA1", "chứng nhận hợp quy", "conformity_certification"
        ),
        SupportType("base_standard", "DA1", "xây dựng tiêu chuẩn cơ sở", "base_standards"),
        SupportType("lab_iso_17025", "DA1", "phòng thử nghiệm theo ISO/IEC 17025", None),
        SupportType("testing_equipment", "DA1", "đổi mới trang thiết bị thử nghiệm", None),
        # DA2: advanced management systems and improvement tools
        SupportType(
            "iso_9001",
            "DA2",
            f"{_MS} hệ thống quản lý chất lượng theo ISO 9001",
            "management_systems",
        ),
        SupportType(
            "iso_14001",
            "DA2",
            f"{_MS} hệ thống quản lý môi trường theo ISO 14001",
            "management_systems",
        ),
        SupportType(
            "iso_22000",
            "DA2",
            f"{_MS} hệ thống quản lý an toàn thực phẩm theo ISO 22000",
            "management_systems",
        ),
        SupportType("gmp", "DA2", f"{_MS} thực hành sản xuất tốt (GMP)", "management_systems"),
        SupportType(
            "sa_8000",
            "DA2",
            f"{_MS} hệ thống quản lý trách nhiệm xã hội theo SA 8000",
            "management_systems",
        ),
        SupportType(
            "ohsas_18001",
            "DA2",
            f"{_MS} hệ thống quản lý an toàn, sức khỏe nghề nghiệp theo OHSAS 18001",
            "management_systems",
        ),
        SupportType(
            "iso_ts_16949",
            "DA2",
            f"{_MS} hệ thống quản lý chất lượng ngành ô tô theo ISO/TS 16949",
            "management_systems",
        ),
        SupportType(
            "iso_iec_27001",
            "DA2",
            f"{_MS} hệ thống quản lý an toàn thông tin theo ISO/IEC 27001",
            "management_systems",
        ),
        SupportType(
            "other_management_system",
            "DA2",
            f"{_MS} hệ thống quản lý chất lượng khác, mới được áp dụng trên thế giới",
            "management_systems",
        ),
        SupportType(
            "integrated_management_systems",
            "DA2",
            "áp dụng tích hợp nhiều hệ thống quản lý",
            "management_systems",
        ),
        SupportType(
            "improvement_tools",
            "DA2",
            "công cụ cải tiến: KAIZEN-5S, 7 công cụ thống kê, Lean Six Sigma, QCC, CRM",
            None,
        ),
        # DA3: technology application and innovation
        SupportType("tech_innovation", "DA3", "đổi mới công nghệ", "tech_innovation"),
        SupportType("tech_transfer", "DA3", "chuyển giao công nghệ", "tech_transfer"),
        SupportType("trial_production", "DA3", "sản xuất thử nghiệm công nghệ mới", None),
        SupportType("rnd_support", "DA3", "nghiên cứu khoa học và phát triển công nghệ", None),
        SupportType("st_organization", "DA3", "tổ chức KH&CN trong doanh nghiệp", None),
        SupportType("st_enterprise", "DA3", "doanh nghiệp KH&CN", None),
        SupportType("tech_demonstration", "DA3", "trình diễn công nghệ, thiết bị mới", None),
        # DA4: intellectual-property assets
        SupportType("patent", "DA4", "đăng ký sáng chế / giải pháp hữu ích", "patents"),
        SupportType(
            "industrial_design", "DA4", "đăng ký kiểu dáng công nghiệp", "industrial_designs"
        ),
        SupportType("collective_mark", "DA4", "nhãn hiệu tập thể", "marks_gi"),
        SupportType("certification_mark", "DA4", "nhãn hiệu chứng nhận", "marks_gi"),
        SupportType("geographical_indication", "DA4", "chỉ dẫn địa lý", "marks_gi"),
        # Any project: each application names the one project it belongs to.
        SupportType("training", None, "đào tạo, tập huấn", None),
        SupportType("communication", None, "thông tin tuyên truyền", None),
    )
}
"""Support type code -> support type, grouped by project as in section III."""


# --------------------------------------------------------------------------------------
# Software vocabulary
# --------------------------------------------------------------------------------------

SECTORS: Final[dict[str, str]] = {
    "industry": "công nghiệp",
    "food": "thực phẩm",
    "agriculture": "nông nghiệp",
    "construction": "xây dựng",
    "transport": "giao thông vận tải",
    "health": "y tế",
    "ict": "thông tin và truyền thông",
    "trade_services": "thương mại, dịch vụ",
    "craft_village": "làng nghề",
}
"""Enterprise sector code -> Vietnamese name."""

SIZES: Final[dict[str, str]] = {
    "micro": "siêu nhỏ",
    "small": "nhỏ",
    "medium": "vừa",
    "large": "lớn",
}
"""Enterprise size code -> Vietnamese name."""

ACTIVITY_KINDS: Final[dict[str, str]] = {
    "training": "đào tạo, tập huấn",
    "communication": "thông tin tuyên truyền",
    "testing_equipment": "đầu tư, đổi mới trang thiết bị đo lường thử nghiệm",
    "building_standards": "xây dựng tiêu chuẩn, quy chuẩn kỹ thuật",
    "survey": "điều tra, khảo sát, đánh giá",
    "international_cooperation": "hợp tác quốc tế",
}
"""Kinds of program activity that departments run themselves (not support to one
enterprise) -> Vietnamese name."""

ROLES: Final[tuple[str, ...]] = ("admin", "officer", "finance", "leader", "inspector", "viewer")
"""User roles of the ledger."""


# --------------------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------------------


def support_types_for(project: str) -> tuple[SupportType, ...]:
    """The support types an application under ``project`` may have.

    These are the project's own types followed by the types allowed under any project
    (``training``, ``communication``). An unknown project has none.
    """
    if project not in PROJECTS:
        return ()
    own = tuple(s for s in SUPPORT_TYPES.values() if s.project == project)
    any_project = tuple(s for s in SUPPORT_TYPES.values() if s.project is None)
    return own + any_project


def support_type_allowed(code: str, project: str) -> bool:
    """Whether an application under ``project`` may be of support type ``code``.

    False for an unknown support type or an unknown project.
    """
    support = SUPPORT_TYPES.get(code)
    if support is None or project not in PROJECTS:
        return False
    return support.project is None or support.project == project


def target_for(support_type: str) -> Target | None:
    """The target that a passed acceptance of ``support_type`` counts toward, if any.

    Raises ``KeyError`` for an unknown support type.
    """
    target = SUPPORT_TYPES[support_type].target
    return None if target is None else TARGETS[target]


def department_name(code: str) -> str | None:
    """The Vietnamese name of the department ``code`` (``None``: not in the catalogue)."""
    found = DEPARTMENTS.get(code)
    return found.name_vi if found is not None else None
