"""The demo program's reference data: demo values, not the program's real figures.

Its time frame and size, then what the planner (:mod:`demo.plan`, :mod:`demo.records`)
draws from: how applications spread over the years, districts, sectors and sizes; the
names of enterprises and craft villages; which support types suit which sectors, what they
cost and what the city pays; how applications end and why; the departments' activities;
and the demo's people, one of each role.
"""

from __future__ import annotations

import datetime as dt

FIRST_YEAR = 2011
LAST_YEAR = 2020
#: The program's decision (6374/QĐ-UBND): nothing of the demo is dated before it.
START = dt.date(2010, 12, 27)
#: The demo's last day: 2020, the program's last year, is left open (closing it would be
#: dated in 2021, after the program).
END = dt.date(LAST_YEAR, 12, 31)
#: What the demo writes changed (the bench's cached logs are named by it): 2 runs the budget
#: cycle (support rules, estimates, channels, year close).
VERSION = 2
#: Huyện Từ Liêm was split into Bắc and Nam Từ Liêm by resolution 132/NQ-CP (27/12/2013).
TU_LIEM_SPLIT = dt.date(2014, 1, 1)
TU_LIEM_CORRECTED_ON = dt.date(2014, 1, 2)

ENTERPRISES_PER_SCALE = 500
APPLICATIONS_PER_SCALE = 2000
ACTIVITIES_PER_SCALE = 120

#: The source whose budget lines the demo keeps account of as it commits money on them.
CITY = "city_budget"

#: Share of the applications submitted in each year (the program ramped up, 2020 had COVID).
YEAR_WEIGHTS = {
    2011: 5,
    2012: 7,
    2013: 9,
    2014: 10,
    2015: 11,
    2016: 12,
    2017: 12,
    2018: 12,
    2019: 12,
    2020: 10,
}

#: Where enterprises are: weight per district (2014–2020 codes; Từ Liêm is handled apart).
DISTRICT_WEIGHTS = {
    "QH-BADINH": 5,
    "QH-HOANKIEM": 4,
    "QH-TAYHO": 3,
    "QH-LONGBIEN": 7,
    "QH-CAUGIAY": 9,
    "QH-DONGDA": 7,
    "QH-HAIBATRUNG": 7,
    "QH-HOANGMAI": 7,
    "QH-THANHXUAN": 6,
    "QH-HADONG": 6,
    "TULIEM": 9,
    "QH-SONTAY": 2,
    "QH-BAVI": 1,
    "QH-CHUONGMY": 3,
    "QH-DANPHUONG": 2,
    "QH-DONGANH": 7,
    "QH-GIALAM": 6,
    "QH-HOAIDUC": 4,
    "QH-MELINH": 4,
    "QH-MYDUC": 1,
    "QH-PHUXUYEN": 2,
    "QH-PHUCTHO": 1,
    "QH-QUOCOAI": 2,
    "QH-SOCSON": 4,
    "QH-THACHTHAT": 4,
    "QH-THANHOAI": 2,
    "QH-THANHTRI": 5,
    "QH-THUONGTIN": 3,
    "QH-UNGHOA": 1,
}

#: Districts of the former Hà Tây province (merged in 2008): older tax codes start with 05.
HA_TAY = {
    "QH-HADONG",
    "QH-SONTAY",
    "QH-BAVI",
    "QH-CHUONGMY",
    "QH-DANPHUONG",
    "QH-HOAIDUC",
    "QH-MYDUC",
    "QH-PHUXUYEN",
    "QH-PHUCTHO",
    "QH-QUOCOAI",
    "QH-THACHTHAT",
    "QH-THANHOAI",
    "QH-THUONGTIN",
    "QH-UNGHOA",
}

SECTOR_WEIGHTS = {
    "industry": 26,
    "food": 14,
    "agriculture": 7,
    "construction": 12,
    "transport": 5,
    "health": 5,
    "ict": 9,
    "trade_services": 14,
    "craft_village": 8,
}

SIZE_WEIGHTS = {"micro": 15, "small": 45, "medium": 28, "large": 12}
#: How much more often an enterprise of each size comes back for more support.
SIZE_ACTIVITY = {"micro": 1, "small": 2, "medium": 3, "large": 4}

SECTOR_WORDS = {
    "industry": [
        "Cơ khí",
        "Điện tử",
        "Nhựa",
        "Bao bì",
        "Thiết bị điện",
        "Kim khí",
        "Dệt may",
        "Da giày",
        "Hóa chất",
        "Cơ điện",
        "Khuôn mẫu",
    ],
    "food": ["Thực phẩm", "Bánh kẹo", "Chế biến Nông sản", "Đồ uống", "Sữa", "Thực phẩm sạch"],
    "agriculture": [
        "Nông nghiệp Công nghệ cao",
        "Giống cây trồng",
        "Chăn nuôi",
        "Rau an toàn",
        "Thủy sản",
    ],
    "construction": ["Xây dựng", "Vật liệu Xây dựng", "Bê tông", "Gạch ốp lát", "Kết cấu thép"],
    "transport": ["Vận tải", "Cơ khí Ô tô", "Phụ tùng Xe máy", "Logistics"],
    "health": ["Dược phẩm", "Thiết bị Y tế", "Dược liệu", "Vật tư Y tế"],
    "ict": ["Phần mềm", "Công nghệ Thông tin", "Viễn thông", "Giải pháp Số", "Tin học"],
    "trade_services": ["Thương mại", "Thương mại và Dịch vụ", "Xuất nhập khẩu", "Dịch vụ Kỹ thuật"],
    "craft_village": [],
}

PROPER_NAMES = [
    "Minh Phát",
    "Hà Thành",
    "Thăng Long",
    "Hồng Hà",
    "An Phú",
    "Đại Việt",
    "Hòa Bình",
    "Tân Tiến",
    "Phú Thịnh",
    "Hưng Thịnh",
    "Sao Mai",
    "Bình Minh",
    "Trường An",
    "Kim Ngân",
    "Việt Hưng",
    "Hoàng Long",
    "Thành Công",
    "Đông Đô",
    "Gia Bảo",
    "Nam Việt",
    "Bắc Hà",
    "Phương Đông",
    "Trí Đức",
    "Quang Minh",
    "Thiên Phúc",
    "Vạn Xuân",
    "Hưng Long",
    "Tiến Đạt",
    "Nhật Quang",
    "Ánh Dương",
    "Toàn Thắng",
    "Hồng Phúc",
    "Đức Anh",
    "Tràng An",
    "Kinh Bắc",
    "Sông Đà",
    "Phúc Lộc",
    "Tân Việt",
    "Hải Đăng",
    "Thái Sơn",
    "Việt Nhật",
    "Hà Việt",
    "Ngọc Khánh",
    "Bảo Ngọc",
    "Lạc Hồng",
    "Thịnh Phát",
    "Hợp Nhất",
    "Đồng Tâm",
    "Thuận Thành",
    "An Khang",
    "Vĩnh Phúc",
    "Tây Đô",
    "Hồng Quang",
    "Phú Gia",
    "Mạnh Tiến",
    "Trung Kiên",
    "Cường Thịnh",
    "Hòa Phát Đạt",
    "Đại Dương",
    "Kim Long",
]

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
        50_000_000,
        300_000_000,
    ),
    "communication": (
        ("DA1", "DA2", "DA3", "DA4"),
        ("SKHCN", "MEDIA", "STTTT"),
        100_000_000,
        500_000_000,
    ),
    "testing_equipment": (("DA1",), ("SKHCN",), 800_000_000, 3_000_000_000),
    "building_standards": (("DA1",), ("SKHCN", "SXD", "SCT"), 200_000_000, 900_000_000),
    "survey": (("DA3", "DA4"), ("SKHCN", "SNNPTNT", "HHLN"), 150_000_000, 700_000_000),
    "international_cooperation": (("DA1", "DA2"), ("SKHCN", "SNGV"), 100_000_000, 400_000_000),
}
ACTIVITY_WEIGHTS = {
    "training": 35,
    "communication": 25,
    "testing_equipment": 5,
    "building_standards": 12,
    "survey": 13,
    "international_cooperation": 10,
}
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
    "SKHDT": ("Hồ Thị Quyên", "officer", "SKHDT"),
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


# -- the budget cycle -------------------------------------------------------------------------

#: The demo's support rules (mức hỗ trợ): DEMO VALUES, not the program's real ones. From the
#: program's start every support type is capped at 50 % of the cost and at the city share cap
#: of ``COSTS``; the document numbers say "(demo)".
RULES_DOCUMENT = "1520/QĐ-STC (demo)"
RULES_SIGNED = dt.date(2010, 12, 28)
RULES_PERCENT = 50
#: One revision mid-program (demo values too): from 2016 a few types are capped lower or
#: higher. Support type -> (max share %, max amount).
REVISED_RULES_DOCUMENT = "2315/QĐ-STC (demo)"
REVISED_RULES_SIGNED = dt.date(2015, 12, 10)
REVISED_RULES_FROM = dt.date(2016, 1, 1)
REVISED_RULES: dict[str, tuple[int, int]] = {
    "iso_9001": (40, 35_000_000),
    "improvement_tools": (40, 35_000_000),
    "industrial_design": (50, 20_000_000),
    "patent": (50, 40_000_000),
    "tech_innovation": (30, 600_000_000),
}


def rule_on(support_type: str, on: dt.date) -> tuple[int, int]:
    """The demo's rule for ``support_type`` in force on ``on``: (max share %, max amount)."""
    if on >= REVISED_RULES_FROM and support_type in REVISED_RULES:
        return REVISED_RULES[support_type]
    return RULES_PERCENT, COSTS[support_type][2]


def rule_limit(support_type: str, on: dt.date, total_cost: int) -> int:
    """The most the city budget pays of an application costing ``total_cost`` (as the
    ledger computes it), under the demo's rule in force on ``on``."""
    share, most = rule_on(support_type, on)
    return min(most, share * total_cost // 100)


#: Channels other than the default (science_recurrent): testing equipment bought by the
#: departments is infrastructure investment; part of the patents go through the science fund.
ACTIVITY_CHANNELS = {"testing_equipment": "investment"}
FUND_SUPPORT_TYPES = {"patent": 0.4}

#: Who forecasts the needs of which applications for the estimate: a district committee for
#: what it files itself, SKHDT for technology (DA3), else by the enterprise's sector.
NEEDS_BY_SECTOR = {
    "industry": "SCT",
    "trade_services": "SCT",
    "transport": "SCT",
    "agriculture": "SNNPTNT",
    "food": "SNNPTNT",
    "craft_village": "SNNPTNT",
}
NEEDS_OF_PROJECT = {"DA3": "SKHDT"}
NEEDS_DEFAULT = "SKHCN"

#: How far an appraised line may stray from what Sở Tài chính finds right before it is changed.
APPRAISAL_TOLERANCE = 0.15
#: The share of years whose first draft is returned for redrafting.
ESTIMATE_RETURN_RATE = 0.3
ESTIMATE_RETURN_REASONS = [
    "Thuyết minh cơ sở tính nhu cầu hỗ trợ của các dự án chưa đầy đủ; đề nghị rà soát, bổ sung",
    "Chưa tổng hợp nhu cầu của các sở, ngành và UBND quận, huyện; đề nghị bổ sung",
    "Dự toán chưa tách theo kênh bố trí kinh phí; đề nghị lập lại",
]
APPRAISAL_REASONS = {
    "down": "Điều chỉnh giảm theo khả năng cân đối ngân sách năm {year}",
    "up": "Bổ sung theo tiến độ thực hiện nhiệm vụ và nhu cầu đã rà soát cho năm {year}",
    "new": "Bố trí qua {channel} theo nội dung đề nghị hỗ trợ năm {year}",
    "none": "Không bố trí năm {year}: chưa có nhiệm vụ trên kênh {channel}",
}
REDUCTION_REASON = (
    "Điều chỉnh giảm dự toán năm {year} không có khả năng thực hiện để bố trí cho nhiệm vụ khác"
)
