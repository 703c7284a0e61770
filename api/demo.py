"""The demo program: ten years (2011–2020) of decision 6374/QĐ-UBND, loaded through the door.

``load_demo`` writes a realistic, deterministic program into an empty ledger: demo users of
every role, enterprises across Hanoi's districts, the budget lines of every year × project ×
source, about 2,000 support applications (× ``scale``) over all four projects and every
support type, and the activities the departments run themselves. Every change is a command
of the application service (``Ledger``), run by a demo user whose role may run it, so every
invariant of DESIGN.md holds and nothing bypasses the rules. The amounts and support levels
are demo values, not the program's real figures.

Determinism: one ``random.Random(seed)`` drives every choice and every date is fixed (no
wall clock is read for business dates), so the same seed and scale give the same program
and the same summary. Ids, command ids and recorded times are the ledger's own.

How it runs: the whole program is planned first (who applies for what, when each step
happens and how it ends), then every step is carried out in effective-date order, a batch of
steps per database transaction (``Ledger.execute``; every command still checks its rules
and a refused command would abort the load). The planner tracks the money it has committed
on each budget line, so approvals that would not fit are reduced or refused the way the
program did it, not by tripping over the ledger's guard.

``ledger.checks.check_invariants`` reads the whole ledger back and says what does not hold.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import exists, select

from ledger import catalogue
from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.budget_line import format_vnd
from ledger.service import Ledger
from ledger.support_application import STATUSES
from ledger.user import User

__all__ = [
    "DemoError",
    "DemoSummary",
    "load_demo",
    "program_events",
    "tax_code_check_digit",
]

FIRST_YEAR = 2011
LAST_YEAR = 2020
END = dt.date(LAST_YEAR, 12, 31)
#: Huyện Từ Liêm was split into Bắc and Nam Từ Liêm by resolution 132/NQ-CP (27/12/2013).
TU_LIEM_SPLIT = dt.date(2014, 1, 1)
TU_LIEM_CORRECTED_ON = dt.date(2014, 1, 2)

ENTERPRISES_PER_SCALE = 500
APPLICATIONS_PER_SCALE = 2000
ACTIVITIES_PER_SCALE = 120
#: Steps (commands) carried out per database transaction.
BATCH = 250

CITY = "city_budget"
Progress = Callable[[int, int], None]


class DemoError(Exception):
    """The demo cannot be loaded here (the ledger already holds a program)."""


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` wrote. Every figure depends only on the seed and the scale."""

    seed: int
    scale: float
    events: int
    users: int
    enterprises: int
    budget_lines: int
    applications: int
    activities: int
    applications_by_status: dict[str, int]
    applications_by_project: dict[str, int]
    applications_by_support_type: dict[str, int]
    actions: dict[str, int]
    city_budget_assigned: int
    city_budget_committed: int
    city_budget_disbursed: int
    city_budget_recovered: int

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# ------------------------------------------------------------------------------------------
# Reference data of the demo (demo values, not the program's real figures)
# ------------------------------------------------------------------------------------------

#: Share of the applications submitted in each year (the program ramped up, 2020 had COVID).
YEAR_WEIGHTS = {
    2011: 5, 2012: 7, 2013: 9, 2014: 10, 2015: 11,
    2016: 12, 2017: 12, 2018: 12, 2019: 12, 2020: 10,
}  # fmt: skip

#: Where enterprises are: weight per district (2014–2020 codes; Từ Liêm is handled apart).
DISTRICT_WEIGHTS = {
    "QH-BADINH": 5, "QH-HOANKIEM": 4, "QH-TAYHO": 3, "QH-LONGBIEN": 7, "QH-CAUGIAY": 9,
    "QH-DONGDA": 7, "QH-HAIBATRUNG": 7, "QH-HOANGMAI": 7, "QH-THANHXUAN": 6, "QH-HADONG": 6,
    "TULIEM": 9, "QH-SONTAY": 2, "QH-BAVI": 1, "QH-CHUONGMY": 3, "QH-DANPHUONG": 2,
    "QH-DONGANH": 7, "QH-GIALAM": 6, "QH-HOAIDUC": 4, "QH-MELINH": 4, "QH-MYDUC": 1,
    "QH-PHUXUYEN": 2, "QH-PHUCTHO": 1, "QH-QUOCOAI": 2, "QH-SOCSON": 4, "QH-THACHTHAT": 4,
    "QH-THANHOAI": 2, "QH-THANHTRI": 5, "QH-THUONGTIN": 3, "QH-UNGHOA": 1,
}  # fmt: skip

#: Districts of the former Hà Tây province (merged in 2008): older tax codes start with 05.
HA_TAY = {
    "QH-HADONG", "QH-SONTAY", "QH-BAVI", "QH-CHUONGMY", "QH-DANPHUONG", "QH-HOAIDUC",
    "QH-MYDUC", "QH-PHUXUYEN", "QH-PHUCTHO", "QH-QUOCOAI", "QH-THACHTHAT", "QH-THANHOAI",
    "QH-THUONGTIN", "QH-UNGHOA",
}  # fmt: skip

SECTOR_WEIGHTS = {
    "industry": 26, "food": 14, "agriculture": 7, "construction": 12, "transport": 5,
    "health": 5, "ict": 9, "trade_services": 14, "craft_village": 8,
}  # fmt: skip

SIZE_WEIGHTS = {"micro": 15, "small": 45, "medium": 28, "large": 12}
#: How much more often an enterprise of each size comes back for more support.
SIZE_ACTIVITY = {"micro": 1, "small": 2, "medium": 3, "large": 4}

SECTOR_WORDS = {
    "industry": ["Cơ khí", "Điện tử", "Nhựa", "Bao bì", "Thiết bị điện", "Kim khí", "Dệt may",
                 "Da giày", "Hóa chất", "Cơ điện", "Khuôn mẫu"],
    "food": ["Thực phẩm", "Bánh kẹo", "Chế biến Nông sản", "Đồ uống", "Sữa", "Thực phẩm sạch"],
    "agriculture": ["Nông nghiệp Công nghệ cao", "Giống cây trồng", "Chăn nuôi", "Rau an toàn",
                    "Thủy sản"],
    "construction": ["Xây dựng", "Vật liệu Xây dựng", "Bê tông", "Gạch ốp lát", "Kết cấu thép"],
    "transport": ["Vận tải", "Cơ khí Ô tô", "Phụ tùng Xe máy", "Logistics"],
    "health": ["Dược phẩm", "Thiết bị Y tế", "Dược liệu", "Vật tư Y tế"],
    "ict": ["Phần mềm", "Công nghệ Thông tin", "Viễn thông", "Giải pháp Số", "Tin học"],
    "trade_services": ["Thương mại", "Thương mại và Dịch vụ", "Xuất nhập khẩu", "Dịch vụ Kỹ thuật"],
    "craft_village": [],
}  # fmt: skip

PROPER_NAMES = [
    "Minh Phát", "Hà Thành", "Thăng Long", "Hồng Hà", "An Phú", "Đại Việt", "Hòa Bình",
    "Tân Tiến", "Phú Thịnh", "Hưng Thịnh", "Sao Mai", "Bình Minh", "Trường An", "Kim Ngân",
    "Việt Hưng", "Hoàng Long", "Thành Công", "Đông Đô", "Gia Bảo", "Nam Việt", "Bắc Hà",
    "Phương Đông", "Trí Đức", "Quang Minh", "Thiên Phúc", "Vạn Xuân", "Hưng Long", "Tiến Đạt",
    "Nhật Quang", "Ánh Dương", "Toàn Thắng", "Hồng Phúc", "Đức Anh", "Tràng An", "Kinh Bắc",
    "Sông Đà", "Phúc Lộc", "Tân Việt", "Hải Đăng", "Thái Sơn", "Việt Nhật", "Hà Việt",
    "Ngọc Khánh", "Bảo Ngọc", "Lạc Hồng", "Thịnh Phát", "Hợp Nhất", "Đồng Tâm", "Thuận Thành",
    "An Khang", "Vĩnh Phúc", "Tây Đô", "Hồng Quang", "Phú Gia", "Mạnh Tiến", "Trung Kiên",
    "Cường Thịnh", "Hòa Phát Đạt", "Đại Dương", "Kim Long",
]  # fmt: skip

#: Craft villages (làng nghề): product, village, district.
CRAFT_VILLAGES = [
    ("Gốm sứ", "Bát Tràng", "QH-GIALAM"),
    ("Lụa", "Vạn Phúc", "QH-HADONG"),
    ("Mây tre đan", "Phú Vinh", "QH-CHUONGMY"),
    ("Sơn mài", "Hạ Thái", "QH-THUONGTIN"),
    ("Khảm trai", "Chuyên Mỹ", "QH-PHUXUYEN"),
    ("Đồ gỗ mỹ nghệ", "Vân Hà", "QH-DONGANH"),
    ("Nón lá", "Chuông", "QH-THANHOAI"),
    ("Điêu khắc đá", "Ninh Sở", "QH-THUONGTIN"),
    ("Bánh cuốn", "Thanh Trì", "QH-THANHTRI"),
    ("Đồ gỗ", "Chàng Sơn", "QH-THACHTHAT"),
    ("Quạt giấy", "Chàng Sơn", "QH-THACHTHAT"),
    ("Tương", "Cự Đà", "QH-THANHOAI"),
]

#: Support type -> (relative frequency, sectors it suits or None for any).
SUPPORT_MIX: dict[str, tuple[float, frozenset[str] | None]] = {
    "conformity_standard": (6, None),
    "conformity_foreign_standard": (2, frozenset({"industry", "food", "health", "ict"})),
    "conformity_regulation": (6, frozenset({"construction", "industry", "food", "transport"})),
    "base_standard": (6, None),
    "lab_iso_17025": (1, frozenset({"industry", "health", "construction", "food"})),
    "testing_equipment": (1, frozenset({"industry", "construction", "health"})),
    "iso_9001": (20, None),
    "iso_14001": (6, frozenset({"industry", "construction", "food", "transport", "health"})),
    "iso_22000": (5, frozenset({"food", "agriculture"})),
    "gmp": (3, frozenset({"health", "food"})),
    "sa_8000": (1, frozenset({"industry"})),
    "ohsas_18001": (2, frozenset({"industry", "construction", "transport"})),
    "iso_ts_16949": (1, frozenset({"industry", "transport"})),
    "iso_iec_27001": (2, frozenset({"ict", "trade_services"})),
    "other_management_system": (1, None),
    "integrated_management_systems": (3, frozenset({"industry", "construction", "food"})),
    "improvement_tools": (8, None),
    "tech_innovation": (2, frozenset({"industry", "food", "agriculture", "construction"})),
    "tech_transfer": (2, frozenset({"industry", "food", "agriculture", "health"})),
    "trial_production": (1, frozenset({"industry", "food", "health", "agriculture"})),
    "rnd_support": (1, frozenset({"industry", "health", "ict", "agriculture"})),
    "st_organization": (1, frozenset({"industry", "health", "ict"})),
    "st_enterprise": (1, frozenset({"industry", "health", "ict", "agriculture"})),
    "tech_demonstration": (1, frozenset({"industry", "agriculture", "construction"})),
    "patent": (3, frozenset({"industry", "health", "ict", "food", "agriculture"})),
    "industrial_design": (6, frozenset({"industry", "craft_village", "food", "trade_services"})),
    "collective_mark": (2, frozenset({"craft_village", "agriculture"})),
    "certification_mark": (1, frozenset({"craft_village", "agriculture", "food"})),
    "geographical_indication": (0.5, frozenset({"craft_village", "agriculture"})),
    "training": (1, None),
    "communication": (0.5, None),
}

#: Support type -> (lowest total cost, highest total cost, city share cap) in đồng.
#: The city budget pays 30–50 % of the cost, never more than the cap (demo support levels).
COSTS: dict[str, tuple[int, int, int]] = {
    "conformity_standard": (30_000_000, 120_000_000, 30_000_000),
    "conformity_foreign_standard": (60_000_000, 200_000_000, 50_000_000),
    "conformity_regulation": (30_000_000, 100_000_000, 25_000_000),
    "base_standard": (20_000_000, 90_000_000, 20_000_000),
    "lab_iso_17025": (200_000_000, 700_000_000, 150_000_000),
    "testing_equipment": (400_000_000, 2_000_000_000, 300_000_000),
    "iso_9001": (60_000_000, 200_000_000, 40_000_000),
    "iso_14001": (70_000_000, 220_000_000, 45_000_000),
    "iso_22000": (80_000_000, 250_000_000, 50_000_000),
    "gmp": (150_000_000, 600_000_000, 100_000_000),
    "sa_8000": (90_000_000, 250_000_000, 50_000_000),
    "ohsas_18001": (70_000_000, 200_000_000, 45_000_000),
    "iso_ts_16949": (150_000_000, 450_000_000, 80_000_000),
    "iso_iec_27001": (120_000_000, 400_000_000, 80_000_000),
    "other_management_system": (80_000_000, 250_000_000, 50_000_000),
    "integrated_management_systems": (150_000_000, 450_000_000, 90_000_000),
    "improvement_tools": (50_000_000, 200_000_000, 40_000_000),
    "tech_innovation": (800_000_000, 5_000_000_000, 500_000_000),
    "tech_transfer": (500_000_000, 3_000_000_000, 300_000_000),
    "trial_production": (500_000_000, 2_000_000_000, 300_000_000),
    "rnd_support": (300_000_000, 1_500_000_000, 300_000_000),
    "st_organization": (200_000_000, 800_000_000, 200_000_000),
    "st_enterprise": (100_000_000, 500_000_000, 100_000_000),
    "tech_demonstration": (200_000_000, 1_000_000_000, 200_000_000),
    "patent": (30_000_000, 90_000_000, 30_000_000),
    "industrial_design": (10_000_000, 40_000_000, 15_000_000),
    "collective_mark": (80_000_000, 300_000_000, 150_000_000),
    "certification_mark": (150_000_000, 500_000_000, 200_000_000),
    "geographical_indication": (400_000_000, 1_500_000_000, 500_000_000),
    "training": (20_000_000, 100_000_000, 30_000_000),
    "communication": (20_000_000, 80_000_000, 25_000_000),
}

#: Support type -> title; {e} is the enterprise's short name, {v} the ISO 9001 edition.
TITLES = {
    "conformity_standard": "Chứng nhận sản phẩm phù hợp tiêu chuẩn quốc gia (TCVN) của {e}",
    "conformity_foreign_standard": "Chứng nhận hợp chuẩn sản phẩm theo tiêu chuẩn nước ngoài "
    "phục vụ xuất khẩu của {e}",
    "conformity_regulation": "Chứng nhận hợp quy sản phẩm theo quy chuẩn kỹ thuật quốc gia của {e}",
    "base_standard": "Xây dựng bộ tiêu chuẩn cơ sở cho sản phẩm chủ lực của {e}",
    "lab_iso_17025": "Xây dựng phòng thử nghiệm đạt chuẩn ISO/IEC 17025 tại {e}",
    "testing_equipment": "Đổi mới trang thiết bị đo lường, thử nghiệm của {e}",
    "iso_9001": "Xây dựng và áp dụng hệ thống quản lý chất lượng ISO 9001:{v} tại {e}",
    "iso_14001": "Xây dựng và áp dụng hệ thống quản lý môi trường ISO 14001 tại {e}",
    "iso_22000": "Xây dựng và áp dụng hệ thống quản lý an toàn thực phẩm ISO 22000 tại {e}",
    "gmp": "Áp dụng thực hành sản xuất tốt (GMP) tại {e}",
    "sa_8000": "Áp dụng hệ thống quản lý trách nhiệm xã hội SA 8000 tại {e}",
    "ohsas_18001": "Áp dụng hệ thống quản lý an toàn, sức khỏe nghề nghiệp OHSAS 18001 tại {e}",
    "iso_ts_16949": "Áp dụng hệ thống quản lý chất lượng ngành ô tô ISO/TS 16949 tại {e}",
    "iso_iec_27001": "Áp dụng hệ thống quản lý an toàn thông tin ISO/IEC 27001 tại {e}",
    "other_management_system": "Áp dụng hệ thống quản lý HACCP tại {e}",
    "integrated_management_systems": "Áp dụng tích hợp ISO 9001, ISO 14001 và OHSAS 18001 tại {e}",
    "improvement_tools": "Áp dụng công cụ cải tiến năng suất KAIZEN – 5S tại {e}",
    "tech_innovation": "Đổi mới dây chuyền công nghệ sản xuất của {e}",
    "tech_transfer": "Nhận chuyển giao công nghệ sản xuất tiên tiến cho {e}",
    "trial_production": "Sản xuất thử nghiệm sản phẩm mới ứng dụng công nghệ mới tại {e}",
    "rnd_support": "Nghiên cứu phát triển sản phẩm mới tại {e}",
    "st_organization": "Thành lập và nâng cao năng lực bộ phận nghiên cứu – phát triển của {e}",
    "st_enterprise": "Hỗ trợ {e} phát triển thành doanh nghiệp khoa học và công nghệ",
    "tech_demonstration": "Trình diễn công nghệ, thiết bị mới tại {e}",
    "patent": "Đăng ký bảo hộ sáng chế/giải pháp hữu ích của {e}",
    "industrial_design": "Đăng ký bảo hộ kiểu dáng công nghiệp sản phẩm của {e}",
    "collective_mark": "Xây dựng, quản lý và phát triển nhãn hiệu tập thể cho sản phẩm {e}",
    "certification_mark": "Xây dựng, quản lý nhãn hiệu chứng nhận cho sản phẩm {e}",
    "geographical_indication": "Đăng ký bảo hộ chỉ dẫn địa lý cho sản phẩm {e}",
    "training": "Đào tạo, tập huấn về năng suất chất lượng cho cán bộ {e}",
    "communication": "Thông tin, quảng bá kết quả nâng cao năng suất chất lượng của {e}",
}

#: The share of applications that end each way (the rest go all the way to settlement).
OUTCOME_RATES = {
    "rejected": 0.08,
    "withdrawn": 0.04,
    "cancelled_unsigned": 0.02,
    "cancelled_after_advance": 0.02,
    "acceptance_failed": 0.02,
    "recovered_after_settlement": 0.03,
    "reversal": 0.03,
}
RETURN_RATE = 0.15

REJECTION_REASONS = [
    "Hồ sơ không đáp ứng tiêu chí của Chương trình",
    "Nội dung đề nghị đã được hỗ trợ từ nguồn ngân sách khác",
    "Dự toán kinh phí không phù hợp với định mức hỗ trợ",
    "Doanh nghiệp chưa hoàn thành nghĩa vụ báo cáo của lần hỗ trợ trước",
]
WITHDRAWAL_REASONS = [
    "Doanh nghiệp xin rút hồ sơ do thay đổi kế hoạch sản xuất kinh doanh",
    "Doanh nghiệp không bổ sung hồ sơ trong thời hạn và xin rút",
    "Doanh nghiệp tự thực hiện bằng vốn của mình",
]
RETURN_REASONS = [
    "Thiếu báo giá của đơn vị tư vấn; đề nghị bổ sung",
    "Thuyết minh chưa nêu rõ mục tiêu và sản phẩm đầu ra",
    "Thiếu bản sao giấy chứng nhận đăng ký doanh nghiệp",
    "Dự toán chưa tách kinh phí theo nguồn; đề nghị lập lại",
]

#: Activity kind -> (projects, departments that run it, lowest and highest budget).
ACTIVITY_MIX: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, int]] = {
    "training": (
        ("DA1", "DA2", "DA3", "DA4"),
        ("SKHCN", "SCT", "SNNPTNT", "QH-DONGANH", "QH-GIALAM", "QH-CHUONGMY", "HHDNVVN"),
        50_000_000, 300_000_000,
    ),
    "communication": (
        ("DA1", "DA2", "DA3", "DA4"), ("SKHCN", "MEDIA", "STTTT"), 100_000_000, 500_000_000
    ),
    "testing_equipment": (("DA1",), ("SKHCN",), 800_000_000, 3_000_000_000),
    "building_standards": (("DA1",), ("SKHCN", "SXD", "SCT"), 200_000_000, 900_000_000),
    "survey": (("DA3", "DA4"), ("SKHCN", "SNNPTNT", "HHLN"), 150_000_000, 700_000_000),
    "international_cooperation": (("DA1", "DA2"), ("SKHCN", "SNGV"), 100_000_000, 400_000_000),
}  # fmt: skip
ACTIVITY_WEIGHTS = {
    "training": 35, "communication": 25, "testing_equipment": 5, "building_standards": 12,
    "survey": 13, "international_cooperation": 10,
}  # fmt: skip
PROJECT_TOPICS = {
    "DA1": "tiêu chuẩn, quy chuẩn kỹ thuật và đánh giá sự phù hợp",
    "DA2": "hệ thống quản lý tiên tiến và công cụ cải tiến năng suất",
    "DA3": "đổi mới và chuyển giao công nghệ",
    "DA4": "xác lập và phát triển tài sản trí tuệ",
}
ACTIVITY_TITLES = {
    "training": "Tập huấn về {topic} năm {year} ({dept})",
    "communication": "Thông tin tuyên truyền về {topic} năm {year}",
    "testing_equipment": "Đầu tư trang thiết bị đo lường, thử nghiệm năm {year}",
    "building_standards": "Xây dựng tiêu chuẩn, quy chuẩn kỹ thuật địa phương năm {year}",
    "survey": "Điều tra, khảo sát, đánh giá về {topic} năm {year}",
    "international_cooperation": "Hợp tác quốc tế, học tập kinh nghiệm về {topic} năm {year}",
}

#: The demo's people: key -> (name, role, department).
USERS: dict[str, tuple[str, str, str]] = {
    "admin": ("Quản trị hệ thống NSCL", "admin", "SKHCN"),
    "intake_1": ("Nguyễn Văn An", "officer", "SKHCN"),
    "intake_2": ("Lê Thị Hồng", "officer", "SKHCN"),
    "intake_3": ("Phạm Quốc Huy", "officer", "SKHCN"),
    "appraiser_1": ("Trần Minh Đức", "officer", "SKHCN"),
    "appraiser_2": ("Đỗ Thị Lan", "officer", "SKHCN"),
    "approver_1": ("Vũ Hải Nam", "officer", "SKHCN"),
    "approver_2": ("Hoàng Thị Mai", "officer", "SKHCN"),
    "finance_1": ("Bùi Thị Thu", "finance", "STC"),
    "finance_2": ("Đặng Văn Long", "finance", "STC"),
    "QH-DONGANH": ("Ngô Văn Tùng", "officer", "QH-DONGANH"),
    "QH-GIALAM": ("Phan Thị Hạnh", "officer", "QH-GIALAM"),
    "QH-CHUONGMY": ("Trịnh Văn Sơn", "officer", "QH-CHUONGMY"),
    "QH-THUONGTIN": ("Lý Thị Ngọc", "officer", "QH-THUONGTIN"),
    "QH-HADONG": ("Dương Văn Khoa", "officer", "QH-HADONG"),
    "SCT": ("Mai Văn Tuấn", "officer", "SCT"),
    "SNNPTNT": ("Tạ Thị Oanh", "officer", "SNNPTNT"),
    "STTTT": ("Cao Văn Phúc", "officer", "STTTT"),
    "leader": ("Nguyễn Đức Thắng", "leader", "UBND"),
    "inspector": ("Kiều Văn Bảo", "inspector", "STC"),
    "viewer": ("Lương Thị Vân", "viewer", "SKHDT"),
}
#: Support types a district committee files for the enterprises of its district.
DISTRICT_FILED = frozenset(
    {"collective_mark", "certification_mark", "geographical_indication", "training"}
)


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------

TAX_CODE_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def tax_code_check_digit(first_nine: str) -> int | None:
    """The tenth digit of a Vietnamese tax code, or ``None`` if no code is issued for these.

    N10 = 10 − (31·N1 + 29·N2 + 23·N3 + 19·N4 + 17·N5 + 13·N6 + 7·N7 + 5·N8 + 3·N9) mod 11;
    a result of 10 is not issued.
    """
    total = sum(w * int(d) for w, d in zip(TAX_CODE_WEIGHTS, first_nine, strict=True))
    digit = 10 - total % 11
    return None if digit == 10 else digit


def _round(amount: float, step: int = 100_000) -> int:
    return max(step, int(amount) // step * step)


def _money(rng: random.Random, low: int, high: int, step: int = 100_000) -> int:
    return rng.randrange(low // step, high // step + 1) * step


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def program_events(ledger: Ledger) -> bool:
    """Whether the ledger already holds anything but user access (a program is loaded)."""
    table = ledger.events_table
    access = [get_topic(User.Granted), get_topic(User.Revoked)]
    query = select(exists().where(table.c.topic.not_in(access)))
    with ledger.engine.connect() as connection:
        return bool(connection.execute(query).scalar())


# ------------------------------------------------------------------------------------------
# The plan
# ------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Enterprise:
    tax_code: str
    name: str
    short: str
    area: str  # a district code, or "TULIEM" until the dates are known
    sector: str
    size: str
    district: str = ""
    split_into: str | None = None  # Từ Liêm firms registered before 2014: the new district
    first_date: dt.date = END
    id: UUID | None = None


@dataclass(eq=False)
class _Application:
    enterprise: _Enterprise
    project: str
    support_type: str
    title: str
    total_cost: int
    requested: dict[str, int]
    recommended: dict[str, int]
    submitted_on: dt.date
    outcome: str = "completed"
    returns: int = 0
    submitter: Actor = SYSTEM
    handler: Actor = SYSTEM
    appraiser: Actor = SYSTEM
    approver: Actor = SYSTEM
    id: UUID | None = None
    status: str = "planned"
    stopped: bool = False
    approved: dict[str, int] = field(default_factory=dict)
    budget_year: int = 0
    # [disbursement id, amount, reversed]
    disbursements: list[list[Any]] = field(default_factory=list)
    recovery_orders: list[tuple[UUID, int]] = field(default_factory=list)
    recovery_ordered: int = 0
    recovered: int = 0
    planned_approval: dt.date | None = None

    @property
    def approved_city(self) -> int:
        return self.approved.get(CITY, 0)

    @property
    def disbursed(self) -> int:
        return sum(amount for _, amount, reversed_ in self.disbursements if not reversed_)

    @property
    def net_out(self) -> int:
        return self.disbursed - self.recovered


@dataclass(eq=False)
class _Activity:
    department: str
    project: str
    kind: str
    title: str
    budget_year: int
    budget: int
    actor: Actor
    id: UUID | None = None
    spent: int = 0
    stopped: bool = False


@dataclass(eq=False)
class _Line:
    assigned: int = 0
    committed: int = 0

    @property
    def available(self) -> int:
        return self.assigned - self.committed


class _Step(NamedTuple):
    date: dt.date
    rank: int  # on one day: budget decisions, then registrations, then the rest
    seq: int
    run: Callable[[dt.date], None]


class _Demo:
    """Plans the demo program, then carries it out through the application service."""

    def __init__(self, ledger: Ledger, seed: int, scale: float) -> None:
        self.ledger = ledger
        self.seed = seed
        self.scale = scale
        self.rng = random.Random(seed)
        self.steps: list[_Step] = []
        self.people: dict[str, Actor] = {}
        self.enterprises: list[_Enterprise] = []
        self.applications: list[_Application] = []
        self.activities: list[_Activity] = []
        self.lines: dict[tuple[int, str], _Line] = defaultdict(_Line)
        self.budget_lines: set[tuple[int, str, str]] = set()
        self.actions: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.city_disbursed = 0
        self.city_recovered = 0

    # -- planning --------------------------------------------------------------------------

    def at(self, date: dt.date, run: Callable[[dt.date], None], rank: int = 2) -> bool:
        """Plan ``run`` for ``date``; what would fall after 2020 is left undone."""
        if date > END:
            return False
        self.steps.append(_Step(date, rank, len(self.steps), run))
        return True

    def number(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def plan(self) -> None:
        n_enterprises = max(1, round(ENTERPRISES_PER_SCALE * self.scale))
        n_applications = max(1, round(APPLICATIONS_PER_SCALE * self.scale))
        n_activities = max(1, round(ACTIVITIES_PER_SCALE * self.scale))
        self.plan_enterprises(n_enterprises)
        self.plan_applications(n_applications)
        self.plan_activities(n_activities)
        for enterprise in self.enterprises:
            if enterprise.first_date < END:
                self.plan_registration(enterprise)
        for application in self.applications:
            self.plan_lifecycle(application)
        for activity in self.activities:
            self.plan_activity(activity)
        self.plan_budget()  # sized on the approvals and activities just planned
        self.steps.sort()

    def plan_enterprises(self, count: int) -> None:
        rng = self.rng
        used_codes: set[str] = set()
        used_names: set[str] = set()
        for _ in range(count):
            sector = _weighted(rng, SECTOR_WEIGHTS)
            size = _weighted(rng, SIZE_WEIGHTS)
            if sector == "craft_village":
                product, village, area = rng.choice(CRAFT_VILLAGES)
                size = rng.choice(("micro", "small"))
                form = rng.choice(("Hợp tác xã", "Hợp tác xã", "Công ty TNHH"))
                short = f"{product} {village}"
                if form != "Hợp tác xã":
                    short = f"{short} {rng.choice(PROPER_NAMES)}"
            else:
                area = _weighted(rng, DISTRICT_WEIGHTS)
                form = rng.choice(
                    {
                        "micro": ("Doanh nghiệp tư nhân", "Công ty TNHH"),
                        "small": ("Công ty TNHH", "Công ty TNHH", "Công ty Cổ phần"),
                        "medium": ("Công ty Cổ phần", "Công ty TNHH"),
                        "large": ("Công ty Cổ phần", "Tổng công ty"),
                    }[size]
                )
                short = f"{rng.choice(SECTOR_WORDS[sector])} {rng.choice(PROPER_NAMES)}"
            name = f"{form} {short}"
            suffix = 2
            while name in used_names:
                name = f"{form} {short} {suffix}"
                suffix += 1
            used_names.add(name)
            code = self.tax_code(area, used_codes)
            self.enterprises.append(_Enterprise(code, name, short, area, sector, size))

    def tax_code(self, area: str, used: set[str]) -> str:
        rng = self.rng
        province = "05" if area in HA_TAY and rng.random() < 0.5 else "01"
        while True:
            first_nine = province + f"{rng.randrange(10**7):07d}"
            digit = tax_code_check_digit(first_nine)
            if digit is None:
                continue
            code = f"{first_nine}{digit}"
            if rng.random() < 0.05:  # a branch (chi nhánh) of a registered company
                code += f"-{rng.randrange(1, 20):03d}"
            if code not in used:
                used.add(code)
                return code

    def plan_applications(self, count: int) -> None:
        rng = self.rng
        # Every support type at least once (when there are enough applications), then the mix.
        forced = (
            rng.sample(list(SUPPORT_MIX), len(SUPPORT_MIX)) if count >= len(SUPPORT_MIX) else []
        )
        unused = list(self.enterprises)
        rng.shuffle(unused)
        size_weights = [SIZE_ACTIVITY[e.size] for e in self.enterprises]
        years = list(YEAR_WEIGHTS)
        year_weights = list(YEAR_WEIGHTS.values())
        for index in range(count):
            if index < len(forced):
                support_type = forced[index]
                sectors = SUPPORT_MIX[support_type][1]
                fits = [e for e in unused if sectors is None or e.sector in sectors]
                if fits:
                    enterprise = fits[0]
                    unused.remove(enterprise)
                else:
                    pool = [e for e in self.enterprises if sectors is None or e.sector in sectors]
                    enterprise = rng.choice(pool or self.enterprises)
            else:
                if unused:
                    enterprise = unused.pop()
                else:
                    enterprise = rng.choices(self.enterprises, weights=size_weights)[0]
                fitting = {
                    code: weight
                    for code, (weight, sectors) in SUPPORT_MIX.items()
                    if sectors is None or enterprise.sector in sectors
                }
                support_type = _weighted(rng, fitting)
            year = rng.choices(years, weights=year_weights)[0]
            submitted_on = _day(rng, dt.date(year, 2, 20), dt.date(year, 11, 15))
            self.applications.append(self.application(enterprise, support_type, submitted_on))
            enterprise.first_date = min(enterprise.first_date, submitted_on)
        self.assign_outcomes()
        self.assign_people()
        self.place_enterprises()

    def application(
        self, enterprise: _Enterprise, support_type: str, submitted_on: dt.date
    ) -> _Application:
        rng = self.rng
        project = catalogue.SUPPORT_TYPES[support_type].project or rng.choice(
            list(catalogue.PROJECTS)
        )
        low, high, cap = COSTS[support_type]
        total = _money(rng, low, high)
        city = min(cap, _round(total * rng.uniform(0.3, 0.5)))
        other = _round(total * rng.uniform(0.05, 0.2)) if rng.random() < 0.15 else 0
        requested = {CITY: city, "enterprise": total - city - other, "other": other}
        recommended = dict(requested)
        if rng.random() < 0.35:  # the appraisal trims the city share
            recommended[CITY] = _round(city * rng.uniform(0.7, 0.95))
        edition = "2008" if submitted_on.year < 2017 else "2015"
        title = TITLES[support_type].format(e=enterprise.short, v=edition)
        return _Application(
            enterprise, project, support_type, title, total, requested, recommended, submitted_on
        )

    def assign_outcomes(self) -> None:
        rng = self.rng
        apps = self.applications
        # Special endings go to applications early enough to reach them before 2021.
        early = [a for a in apps if a.submitted_on.year < LAST_YEAR]
        rng.shuffle(early)
        for outcome, rate in OUTCOME_RATES.items():
            wanted = round(len(apps) * rate) or (1 if len(apps) >= 20 else 0)
            for application in early[:wanted]:
                application.outcome = outcome
            early = early[wanted:]
        wanted = round(len(apps) * RETURN_RATE) or (1 if len(apps) >= 10 else 0)
        for application in rng.sample(apps, min(wanted, len(apps))):
            application.returns = 2 if rng.random() < 0.2 else 1

    def assign_people(self) -> None:
        rng = self.rng
        p = self.people
        intake = [p["intake_1"], p["intake_2"], p["intake_3"]]
        appraisers = [p["appraiser_1"], p["appraiser_2"]]
        approvers = [p["approver_1"], p["approver_2"]]
        for application in self.applications:
            application.handler = application.submitter = rng.choice(intake)
            district_officer = p.get(application.enterprise.area)
            if district_officer is not None and application.support_type in DISTRICT_FILED:
                application.submitter = district_officer
            application.appraiser = rng.choice(appraisers)
            application.approver = rng.choice(approvers)

    def place_enterprises(self) -> None:
        """Từ Liêm firms: the old huyện before 2014, one of the two new quận after."""
        for enterprise in self.enterprises:
            if enterprise.area != "TULIEM":
                enterprise.district = enterprise.area
                continue
            new = self.rng.choice(("QH-BACTULIEM", "QH-NAMTULIEM"))
            if enterprise.first_date < TU_LIEM_SPLIT:
                enterprise.district, enterprise.split_into = "QH-TULIEM", new
            else:
                enterprise.district = new

    def plan_activities(self, count: int) -> None:
        rng = self.rng
        years = list(YEAR_WEIGHTS)
        for index in range(count):
            kind = _weighted(rng, ACTIVITY_WEIGHTS)
            projects, departments, low, high = ACTIVITY_MIX[kind]
            year = years[index % len(years)]
            project = rng.choice(projects)
            department = rng.choice(departments)
            actor = self.people.get(department, self.people["intake_1"])
            title = ACTIVITY_TITLES[kind].format(
                topic=PROJECT_TOPICS[project],
                year=year,
                dept=catalogue.DEPARTMENTS[department].name_vi,
            )
            budget = _money(rng, low, high, 1_000_000)
            self.activities.append(_Activity(department, project, kind, title, year, budget, actor))

    def plan_registration(self, enterprise: _Enterprise) -> None:
        officer = self.people.get(enterprise.area, self.people["intake_1"])
        self.at(enterprise.first_date, lambda on: self.register(enterprise, officer, on), rank=1)
        if enterprise.split_into is not None:
            self.at(TU_LIEM_CORRECTED_ON, lambda on: self.correct_district(enterprise, on), rank=1)

    def plan_lifecycle(self, app: _Application) -> None:
        """The dated steps of one application, from submission to how it ends."""
        rng = self.rng
        day = app.submitted_on

        def then(low: int, high: int, step: Callable[[dt.date], None]) -> None:
            nonlocal day
            day += dt.timedelta(days=rng.randrange(low, high + 1))
            self.at(day, lambda on: None if app.stopped else step(on))

        def wait(low: int, high: int) -> None:
            nonlocal day
            day += dt.timedelta(days=rng.randrange(low, high + 1))

        def recovery(fraction: float, reason: str) -> None:
            then(5, 20, lambda on: self.order_recovery(app, on, fraction, reason))
            then(15, 60, lambda on: self.receive_recovery(app, on))

        self.at(day, lambda on: self.submit(app, on))
        outcome = app.outcome
        for _ in range(app.returns):
            if outcome == "withdrawn":
                then(7, 20, lambda on: self.return_(app, on))
                break
            if rng.random() < 0.25:  # returned after the appraisal found a gap
                then(10, 30, lambda on: self.appraise(app, on))
            then(5, 20, lambda on: self.return_(app, on))
            then(10, 40, lambda on: self.resubmit(app, on))
        if outcome == "withdrawn":
            then(10, 45, lambda on: self.withdraw(app, on))
            return
        if outcome == "rejected" and rng.random() < 0.5:
            then(7, 30, lambda on: self.reject(app, on, app.handler))  # screened out
            return
        then(15, 45, lambda on: self.appraise(app, on))
        if outcome == "rejected":
            then(7, 25, lambda on: self.reject(app, on, app.approver))  # refused after appraisal
            return
        then(10, 30, lambda on: self.approve(app, on))
        app.planned_approval = day
        if outcome == "cancelled_unsigned":
            reason = "Doanh nghiệp không ký hợp đồng trong thời hạn"
            then(30, 90, lambda on: self.cancel(app, on, reason))
            return
        then(7, 30, lambda on: self.sign_contract(app, on))
        advance = outcome in ("cancelled_after_advance", "acceptance_failed", "reversal")
        reverse_advance = outcome == "reversal" and rng.random() < 0.5
        if advance or rng.random() < 0.6:
            fraction = rng.uniform(0.3, 0.5)
            then(5, 20, lambda on: self.pay(app, on, "advance", fraction))
            if reverse_advance:
                reason = "Chuyển nhầm tài khoản thụ hưởng; lập lại chứng từ"
                then(2, 10, lambda on: self.reverse(app, on, reason))
                then(2, 10, lambda on: self.pay(app, on, "advance", fraction))
        if outcome == "cancelled_after_advance":
            reason = "Doanh nghiệp không đủ năng lực thực hiện; thanh lý hợp đồng"
            then(60, 200, lambda on: self.cancel(app, on, reason))
            recovery(1.0, "Thu hồi tạm ứng do hủy hợp đồng")
            return
        long_work = app.project == "DA3" or app.support_type == "geographical_indication"
        low, high = (200, 480) if long_work else (90, 300)
        if outcome == "acceptance_failed":
            then(low, high, lambda on: self.accept(app, on, "failed"))
            reason = "Nghiệm thu không đạt; thanh lý hợp đồng"
            then(10, 40, lambda on: self.cancel(app, on, reason))
            recovery(1.0, "Thu hồi kinh phí đã tạm ứng do nghiệm thu không đạt")
            return
        then(low, high, lambda on: self.accept(app, on, "passed"))
        share = rng.uniform(0.8, 0.98) if rng.random() < 0.12 else 1.0  # the cost came in lower
        then(10, 40, lambda on: self.pay(app, on, "payment", share))
        if outcome == "reversal" and not reverse_advance:
            reason = "Sai thông tin đơn vị thụ hưởng trên chứng từ; lập lại chứng từ"
            then(2, 10, lambda on: self.reverse(app, on, reason))
            then(2, 10, lambda on: self.pay(app, on, "payment", share))
        then(15, 60, lambda on: self.settle(app, on))
        if outcome == "recovered_after_settlement":
            wait(90, 300)  # the inspection comes months later
            recovery(
                rng.uniform(0.05, 0.2), "Thanh tra phát hiện chi phí không đúng định mức; thu hồi"
            )

    def plan_activity(self, activity: _Activity) -> None:
        rng = self.rng
        year = activity.budget_year
        approved_on = _day(rng, dt.date(year, 2, 15), dt.date(year, 5, 15))
        self.at(approved_on, lambda on: self.approve_activity(activity, on))
        parts = rng.randint(1, 3)
        spend = rng.uniform(0.85, 1.0)
        first, last = approved_on + dt.timedelta(days=20), dt.date(year, 11, 20)
        days = sorted(_day(rng, first, last) for _ in range(parts))
        for part, day in enumerate(days):
            self.at(day, self.spend_step(activity, spend / parts, spend, part == parts - 1))
        completed_on = _day(rng, days[-1] + dt.timedelta(days=5), dt.date(year, 12, 28))
        self.at(completed_on, lambda on: self.complete_activity(activity, on))

    def spend_step(
        self, activity: _Activity, share: float, total_share: float, final: bool
    ) -> Callable[[dt.date], None]:
        return lambda on: self.spend(activity, on, share, total_share, final)

    def plan_budget(self) -> None:
        """Size each year's lines on what that year will approve: mostly, not always, enough."""
        rng = self.rng
        demand: Counter[tuple[int, str, str]] = Counter()
        for application in self.applications:
            if application.planned_approval is not None:
                year = application.planned_approval.year
                for source, amount in application.recommended.items():
                    demand[year, application.project, source] += amount
        for activity in self.activities:
            demand[activity.budget_year, activity.project, CITY] += activity.budget
        finance = self.people["finance_1"]
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            decided_on = dt.date(year - 1, 12, rng.randrange(18, 29))
            decision_no = f"{rng.randrange(5000, 7000)}/QĐ-UBND"
            for project in catalogue.PROJECTS:
                for source in catalogue.SOURCES:
                    need = demand[year, project, source]
                    floor = 200_000_000 if source == CITY else 100_000_000
                    factor = rng.uniform(0.85, 1.1) if source == CITY else rng.uniform(0.9, 1.2)
                    amount = _round(max(floor, need * factor), 10_000_000)
                    self.at(
                        decided_on,
                        self.assign_step(year, project, source, amount, decision_no, finance),
                        rank=0,
                    )
                    if source == CITY and rng.random() < 0.5:  # bổ sung dự toán, mid-year
                        extra = _round(max(floor, need) * rng.uniform(0.08, 0.25), 10_000_000)
                        on = _day(rng, dt.date(year, 6, 15), dt.date(year, 8, 15))
                        number = f"{rng.randrange(3000, 4500)}/QĐ-UBND"
                        self.at(
                            on, self.assign_step(year, project, source, extra, number, finance), 0
                        )

    # -- carrying it out -------------------------------------------------------------------

    def grant_users(self) -> None:
        for key, (name, role, department) in USERS.items():
            granted = self.ledger.grant_access(
                c.GrantAccess(name=name, role=role, department=department), SYSTEM
            )
            self.people[key] = Actor(str(granted.user_id), name, role, department)
            self.done("grant_access")

    def run(self, progress: Progress | None) -> None:
        total = len(self.steps)
        if progress:
            progress(0, total)
        for start in range(0, total, BATCH):
            batch = self.steps[start : start + BATCH]
            attempts = 0

            def work(batch: list[_Step] = batch) -> None:
                nonlocal attempts
                attempts += 1
                if attempts > 1:
                    # The service reruns a unit of work that lost a race or hit a number
                    # already taken; the demo's own bookkeeping cannot be replayed, so stop.
                    raise DemoError(
                        "A batch of the demo conflicted with what the ledger already holds "
                        "(another writer, or a number already used); nothing of that batch "
                        "was written. Load the demo alone, into an empty ledger."
                    )
                for step in batch:
                    step.run(step.date)

            self.ledger.execute(work)
            if progress:
                progress(min(start + BATCH, total), total)

    def done(self, action: str) -> None:
        self.actions[action] += 1

    def assign_step(
        self, year: int, project: str, source: str, amount: int, decision_no: str, actor: Actor
    ) -> Callable[[dt.date], None]:
        def run(on: dt.date) -> None:
            self.ledger.assign_budget(
                c.AssignBudget(
                    budget_year=year, project=project, source=source, amount=amount,
                    decision_no=decision_no, decided_on=on,
                ),
                actor,
            )  # fmt: skip
            self.budget_lines.add((year, project, source))
            if source == CITY:
                self.lines[year, project].assigned += amount
            self.done("assign_budget")

        return run

    def register(self, enterprise: _Enterprise, officer: Actor, on: dt.date) -> None:
        written = self.ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code=enterprise.tax_code, name=enterprise.name, district=enterprise.district,
                sector=enterprise.sector, size=enterprise.size, registered_on=on,
            ),
            officer,
        )  # fmt: skip
        enterprise.id = written.id
        self.done("register_enterprise")

    def correct_district(self, enterprise: _Enterprise, on: dt.date) -> None:
        assert enterprise.id is not None and enterprise.split_into is not None
        self.ledger.correct_enterprise(
            c.CorrectEnterprise(
                enterprise_id=enterprise.id, corrected_on=on, district=enterprise.split_into,
                reason="Huyện Từ Liêm tách thành quận Bắc Từ Liêm và quận Nam Từ Liêm "
                "(Nghị quyết 132/NQ-CP ngày 27/12/2013)",
            ),
            self.people.get(enterprise.split_into, self.people["intake_1"]),
        )  # fmt: skip
        enterprise.district = enterprise.split_into
        self.done("correct_enterprise")

    def submit(self, app: _Application, on: dt.date) -> None:
        assert app.enterprise.id is not None
        number = self.number(f"HS{on.year}{app.project}")
        dossier_no = f"HS-{on.year}-{app.project}-{number:05d}"
        written = self.ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=app.enterprise.id, dossier_no=dossier_no,
                project=app.project, support_type=app.support_type, title=app.title,
                total_cost=app.total_cost, requested=c.Funding(**app.requested), submitted_on=on,
            ),
            app.submitter,
        )  # fmt: skip
        app.id = written.id
        app.status = "submitted"
        self.done("submit_application")

    def application_id(self, app: _Application) -> UUID:
        assert app.id is not None
        return app.id

    def return_(self, app: _Application, on: dt.date) -> None:
        self.ledger.return_application(
            c.ReturnApplication(
                application_id=self.application_id(app), returned_on=on,
                reason=self.rng.choice(RETURN_REASONS),
            ),
            app.handler,
        )  # fmt: skip
        app.status = "returned"
        self.done("return_application")

    def resubmit(self, app: _Application, on: dt.date) -> None:
        self.ledger.resubmit_application(
            c.ResubmitApplication(
                application_id=self.application_id(app), resubmitted_on=on,
                note="Doanh nghiệp đã bổ sung, hoàn thiện hồ sơ",
            ),
            app.handler,
        )  # fmt: skip
        app.status = "submitted"
        self.done("resubmit_application")

    def appraise(self, app: _Application, on: dt.date) -> None:
        trimmed = app.recommended[CITY] < app.requested[CITY]
        note = (
            "Đề nghị điều chỉnh giảm kinh phí hỗ trợ từ ngân sách theo định mức"
            if trimmed
            else "Hồ sơ đủ điều kiện; đề nghị hỗ trợ như đề xuất"
        )
        self.ledger.appraise_application(
            c.AppraiseApplication(
                application_id=self.application_id(app), appraised_on=on,
                recommended=c.Funding(**app.recommended), note=note,
            ),
            app.appraiser,
        )  # fmt: skip
        app.status = "appraised"
        self.done("appraise_application")

    def approve(self, app: _Application, on: dt.date) -> None:
        line = self.lines[on.year, app.project]
        approved = dict(app.recommended)
        want = approved[CITY]
        if want > line.available:
            # The year's money has run out: approve what is left if it is worth it, else refuse.
            room = max(line.available, 0) // 100_000 * 100_000
            if room < max(want // 2, 5_000_000):
                reason = (
                    f"Không còn dự toán ngân sách năm {on.year} của {app.project} để hỗ trợ "
                    f"({format_vnd(max(line.available, 0))} chưa phân bổ)"
                )
                self.reject(app, on, app.approver, reason)
                app.stopped = True
                return
            approved[CITY] = room
        number = self.number(f"QĐ{on.year}")
        self.ledger.approve_application(
            c.ApproveApplication(
                application_id=self.application_id(app), decision_no=f"{number}/QĐ-SKHCN",
                decided_on=on, budget_year=on.year, approved=c.Funding(**approved),
            ),
            app.approver,
        )  # fmt: skip
        app.approved = approved
        app.budget_year = on.year
        line.committed += approved[CITY]
        app.status = "approved"
        self.done("approve_application")

    def reject(self, app: _Application, on: dt.date, actor: Actor, reason: str = "") -> None:
        self.ledger.reject_application(
            c.RejectApplication(
                application_id=self.application_id(app), decided_on=on,
                reason=reason or self.rng.choice(REJECTION_REASONS),
            ),
            actor,
        )  # fmt: skip
        app.status = "rejected"
        self.done("reject_application")

    def withdraw(self, app: _Application, on: dt.date) -> None:
        self.ledger.withdraw_application(
            c.WithdrawApplication(
                application_id=self.application_id(app), withdrawn_on=on,
                reason=self.rng.choice(WITHDRAWAL_REASONS),
            ),
            app.handler,
        )  # fmt: skip
        app.status = "withdrawn"
        self.done("withdraw_application")

    def sign_contract(self, app: _Application, on: dt.date) -> None:
        contract_no = f"{self.number(f'HĐ{on.year}'):04d}/{on.year}/HĐ-NSCL"
        self.ledger.sign_contract(
            c.SignContract(
                application_id=self.application_id(app), contract_no=contract_no, signed_on=on
            ),
            app.handler,
        )
        app.status = "contracted"
        self.done("sign_contract")

    def voucher(self, prefix: str, year: int) -> str:
        return f"{prefix}-{year}-{self.number(f'{prefix}{year}'):06d}"

    def pay(self, app: _Application, on: dt.date, kind: str, share: float) -> None:
        room = app.approved_city - app.net_out
        if kind == "advance":
            amount = min(room, _round(app.approved_city * share))
        elif share >= 1:
            amount = room
        else:
            amount = min(room, _round(app.approved_city * share) - app.net_out)
        if amount <= 0:
            return
        written = self.ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=self.application_id(app), paid_on=on, amount=amount,
                voucher_no=self.voucher("UNC", on.year),
                kind="advance" if kind == "advance" else "payment",
            ),
            app.handler,
        )  # fmt: skip
        app.disbursements.append([written.id, amount, False])
        self.city_disbursed += amount
        self.done("record_disbursement")

    def reverse(self, app: _Application, on: dt.date, reason: str) -> None:
        live = [d for d in app.disbursements if not d[2]]
        if not live:
            return
        last = live[-1]
        self.ledger.reverse_disbursement(
            c.ReverseDisbursement(
                application_id=self.application_id(app), disbursement_id=last[0],
                reversed_on=on, reason=reason,
            ),
            app.handler,
        )  # fmt: skip
        last[2] = True
        self.city_disbursed -= last[1]
        self.done("reverse_disbursement")

    def accept(self, app: _Application, on: dt.date, result: str) -> None:
        outputs: dict[str, int] = {}
        target = catalogue.SUPPORT_TYPES[app.support_type].target
        if result == "passed" and target is not None:
            per_enterprise = catalogue.TARGETS[target].unit_kind == "enterprises"
            if per_enterprise or target == "marks_gi":
                outputs[target] = 1
            else:  # designs, patents, base standards: one to three of them
                outputs[target] = self.rng.choice((1, 1, 1, 2, 2, 3))
        self.ledger.record_acceptance(
            c.RecordAcceptance(
                application_id=self.application_id(app), accepted_on=on,
                result="passed" if result == "passed" else "failed", outputs=outputs,
            ),
            app.appraiser,
        )  # fmt: skip
        app.status = "accepted" if result == "passed" else "acceptance_failed"
        self.done("record_acceptance")

    def release(self, app: _Application) -> None:
        self.lines[app.budget_year, app.project].committed -= app.approved_city - app.net_out

    def settle(self, app: _Application, on: dt.date) -> None:
        self.ledger.settle_application(
            c.SettleApplication(
                application_id=self.application_id(app), settled_on=on,
                note="Thanh lý hợp đồng, quyết toán kinh phí hỗ trợ",
            ),
            app.handler,
        )  # fmt: skip
        self.release(app)
        app.status = "settled"
        self.done("settle_application")

    def cancel(self, app: _Application, on: dt.date, reason: str) -> None:
        self.ledger.cancel_application(
            c.CancelApplication(
                application_id=self.application_id(app), cancelled_on=on, reason=reason
            ),
            app.handler,
        )
        self.release(app)
        app.status = "cancelled"
        self.done("cancel_application")

    def order_recovery(self, app: _Application, on: dt.date, fraction: float, reason: str) -> None:
        recoverable = app.disbursed - app.recovery_ordered
        if fraction < 1:
            recoverable = min(recoverable, _round(app.disbursed * fraction))
        if recoverable <= 0:
            return
        written = self.ledger.order_recovery(
            c.OrderRecovery(
                application_id=self.application_id(app), ordered_on=on, amount=recoverable,
                reason=reason,
            ),
            self.people["finance_2"],
        )  # fmt: skip
        app.recovery_orders.append((written.id, recoverable))
        app.recovery_ordered += recoverable
        self.done("order_recovery")

    def receive_recovery(self, app: _Application, on: dt.date) -> None:
        if not app.recovery_orders:
            return
        recovery_id, amount = app.recovery_orders.pop(0)
        self.ledger.receive_recovery(
            c.ReceiveRecovery(
                application_id=self.application_id(app), recovery_id=recovery_id,
                received_on=on, voucher_no=self.voucher("GNT", on.year),
            ),
            self.people["finance_2"],
        )  # fmt: skip
        app.recovered += amount
        self.city_recovered += amount
        if app.status in ("settled", "cancelled"):  # closed: what comes back is uncommitted
            self.lines[app.budget_year, app.project].committed -= amount
        self.done("receive_recovery")

    def approve_activity(self, activity: _Activity, on: dt.date) -> None:
        line = self.lines[activity.budget_year, activity.project]
        if activity.budget > line.available:
            room = max(line.available, 0) // 1_000_000 * 1_000_000
            if room < activity.budget // 2:
                activity.stopped = True  # not funded this year: nothing is written
                return
            activity.budget = room
        number = self.number(f"QĐ{on.year}")
        written = self.ledger.approve_activity(
            c.ApproveActivity(
                department=activity.department, project=activity.project, kind=activity.kind,
                title=activity.title, budget_year=activity.budget_year, budget=activity.budget,
                decision_no=f"{number}/QĐ-SKHCN", approved_on=on,
            ),
            activity.actor,
        )  # fmt: skip
        activity.id = written.id
        line.committed += activity.budget
        self.done("approve_activity")

    def spend(
        self, activity: _Activity, on: dt.date, share: float, total_share: float, final: bool
    ) -> None:
        if activity.id is None or activity.stopped:
            return
        if final:
            amount = _round(activity.budget * total_share, 1_000_000) - activity.spent
        else:
            amount = _round(activity.budget * share, 1_000_000)
        amount = min(amount, activity.budget - activity.spent)
        if amount <= 0:
            return
        self.ledger.record_activity_spending(
            c.RecordActivitySpending(
                activity_id=activity.id, spent_on=on, amount=amount,
                voucher_no=self.voucher("PC", on.year),
            ),
            activity.actor,
        )  # fmt: skip
        activity.spent += amount
        self.city_disbursed += amount
        self.done("record_activity_spending")

    def complete_activity(self, activity: _Activity, on: dt.date) -> None:
        if activity.id is None or activity.stopped:
            return
        self.ledger.complete_activity(
            c.CompleteActivity(
                activity_id=activity.id, completed_on=on,
                report=f"Đã hoàn thành; kinh phí thực hiện {format_vnd(activity.spent)}",
            ),
            activity.actor,
        )  # fmt: skip
        self.lines[activity.budget_year, activity.project].committed -= (
            activity.budget - activity.spent
        )
        activity.stopped = True
        self.done("complete_activity")

    def summary(self, events: int) -> DemoSummary:
        apps = [a for a in self.applications if a.id is not None]
        statuses = Counter(a.status for a in apps)
        return DemoSummary(
            seed=self.seed,
            scale=self.scale,
            events=events,
            users=len(self.people),
            enterprises=sum(1 for e in self.enterprises if e.id is not None),
            budget_lines=len(self.budget_lines),
            applications=len(apps),
            activities=sum(1 for a in self.activities if a.id is not None),
            applications_by_status={s: statuses[s] for s in STATUSES if statuses[s]},
            applications_by_project=dict(sorted(Counter(a.project for a in apps).items())),
            applications_by_support_type=dict(
                sorted(Counter(a.support_type for a in apps).items())
            ),
            actions=dict(sorted(self.actions.items())),
            city_budget_assigned=sum(line.assigned for line in self.lines.values()),
            city_budget_committed=sum(line.committed for line in self.lines.values()),
            city_budget_disbursed=self.city_disbursed,
            city_budget_recovered=self.city_recovered,
        )


def load_demo(
    ledger: Ledger, *, seed: int = 6374, scale: float = 1.0, progress: Progress | None = None
) -> DemoSummary:
    """Load the demo program into ``ledger`` and say what was written.

    The ledger must hold no program yet (users already granted are fine), else
    :class:`DemoError`. ``progress(done, total)`` is called as the steps are carried out.
    Events grow in proportion to ``scale`` (plus a fixed ~160 for users and budget lines).

    If a step is refused, its whole batch is rolled back and the error propagates; the
    batches before it stay written. Discard ``ledger`` then: its aggregate cache may still
    hold aggregates of the rolled-back batch (see the report on ``Ledger.execute``).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    if program_events(ledger):
        raise DemoError(
            "The ledger already holds a program; the demo loads only into an empty ledger."
        )
    before = ledger.count_events()
    demo = _Demo(ledger, seed, scale)
    demo.grant_users()
    demo.plan()
    demo.run(progress)
    return demo.summary(ledger.count_events() - before)
