"""Calibration side of the synthetic sample: the real-world shape it imitates.

Constants (partner segments, EU-27, ``trade_year.csv`` area codes, hand-set weights of unnamed
countries, the published headline figures, seasonality, revision noise, row counts, the
commodity taxonomy and price tables), the reference profile (``build_profile`` derives
``profile.csv`` from the shared reference files; ``_profile()`` reads it), the customs country
list (``countries.csv`` under ``REF_DATA_DIR``) and the per-year partner tables derived from
them.  See the package docstring (``trade_etl.sample``) for what is calibrated to what.
"""

from __future__ import annotations

import csv
import io
import math
import re
from functools import lru_cache
from pathlib import Path

from trade_etl.ingest.official import AREA_CODES  # trade_year.csv area -> customs code
from trade_etl.sample.rand import _normal
from trade_etl.settings import REF_DATA_DIR

# fmt: off
# ----------------------------------------------------------------------------------------------
# Partners
# ----------------------------------------------------------------------------------------------
US, CN, EU, AO, ROW = range(5)  # segments: USA, China, EU-27, rest of customs area Asia, rest
EU27 = frozenset(
    "203 204 206 207 208 209 210 213 217 218 220 221 222 223 225 227 230 231 232 233 235 236 237 "
    "241 242 245 246".split()
)
# Relative weights (roughly billion yen of trade) used to spread the part of a year's total that
# trade_year.csv does not name over the other countries.  Not derived: a plausible guess.
# Unlisted countries get weight 1.  (A partner named in only one flow's table, e.g. Greece
# imports or Peru exports, also takes its share of the rest from here.)
_REST_WEIGHTS = {
    # EU members (share of "EU rest")
    "223": 400, "245": 350, "230": 30, "217": 40, "227": 300, "246": 100, "231": 100, "209": 60,
    "242": 60, "237": 30, "232": 40, "241": 30, "235": 30, "236": 20, "221": 50, "233": 40,
    # Asia
    "127": 300, "122": 150, "120": 150, "125": 60, "107": 70, "129": 60, "121": 30, "131": 10,
    "126": 10, "128": 3, "132": 3, "130": 5,
    # Middle East, Central Asia, other Europe
    "135": 40, "116": 20, "234": 80, "134": 150, "144": 60, "146": 10, "145": 2, "149": 10,
    "153": 150, "152": 60, "150": 30, "157": 30, "238": 60, "228": 20, "201": 15, "239": 5,
    # Africa
    "506": 150, "524": 80, "541": 150, "501": 60, "503": 40, "535": 20, "545": 40, "517": 50,
    "543": 50, "538": 30, "546": 15, "547": 10, "554": 5, "555": 5, "550": 5, "516": 20,
    "510": 10, "527": 10, "542": 20, "533": 15, "505": 20, "507": 10, "539": 20, "515": 5,
    # Americas
    "401": 100, "312": 20, "407": 100, "306": 60, "311": 40, "323": 50, "406": 50, "408": 20,
    "411": 30, "412": 30, "316": 30, "320": 20, "315": 30, "328": 20, "314": 20, "307": 20,
    "309": 20, "310": 10, "321": 5,
    # Oceania (Marshall Islands: flag-of-convenience ships)
    "602": 20, "625": 400, "618": 20, "612": 20, "620": 40, "619": 20, "628": 5, "626": 5,
    "611": 10, "613": 10, "610": 5, "614": 5, "627": 10,
    # no trade: North Korea, special areas (for order, unknown, bonded areas)
    "104": 0, "701": 0, "702": 0, "703": 0,
}

# ----------------------------------------------------------------------------------------------
# Calibration targets, thousand yen
# ----------------------------------------------------------------------------------------------
FY2023 = {1: 102_865_400_000, 2: 109_031_700_000}
FY2024 = {1: 108_934_500_000, 2: 114_156_200_000}
FY2024_US = {1: 21_648_200_000, 2: 12_642_900_000}
FY2024_CN = {1: 18_890_000_000, 2: 25_940_000_000}
FY2024_EU_BALANCE = -2_530_000_000
FY2024_ASIA_EXPORTS = 58_051_300_000
CY2024_PRELIM = {1: 107_090_000_000, 2: 112_420_000_000}
CY2024_PRELIM_US = {1: 21_300_000_000, 2: 12_650_000_000}
CY2024_PRELIM_CN = {1: 18_870_000_000, 2: 25_310_000_000}
CY2025_PRELIM = {1: 110_448_000_000, 2: 113_098_700_000}
CY2025_PRELIM_US_BALANCE = 7_521_400_000
CY2025_PRELIM_CN_BALANCE = -7_914_700_000
_CAL_YEARS = (2023, 2024, 2025)

# stylised monthly pattern of Japan's trade (shares)
_SEASON = {
    1: (0.0690, 0.0785, 0.0895, 0.0835, 0.0755, 0.0835, 0.0860, 0.0780, 0.0840, 0.0865, 0.0855,
        0.0905),
    2: (0.0870, 0.0775, 0.0845, 0.0840, 0.0815, 0.0800, 0.0850, 0.0830, 0.0815, 0.0855, 0.0830,
        0.0850),
}
_VERSION_SIGMA = {1: 0.003, 2: 0.0025, 3: 0.002, 4: 0.0015, 5: 0.0008}  # segment-month noise
_REVISE_RATE = {1: 0.50, 2: 0.45, 3: 0.40, 4: 0.35, 5: 0.25}  # share of rows revised vs R6
_BASE_ROWS = {1: 3800, 2: 3400}  # HS x country rows per flow-year at scale 1
# fmt: on

# ----------------------------------------------------------------------------------------------
# Commodity taxonomy: MOF principal-commodity groups (trade_year.csv names) and HS prefixes.
# node: (parent, export group name, import group name, HS prefixes; longest prefix wins)
# A node absent from a flow's table is folded into its nearest ancestor present in that flow.
# ----------------------------------------------------------------------------------------------
_TAXONOMY: dict[str, tuple[str | None, str | None, str | None, str]] = {
    "FOOD": (None, "Foodstuff", "Foodstuff", "01 04 09 16 17 18 19 20 21 22 23 24"),
    "FISH": ("FOOD", None, "Fish And Fish Preparation", "03 1604 1605"),
    "MEAT": ("FOOD", None, "Meat And Meat Preparation", "02 1601 1602"),
    "CEREAL": ("FOOD", None, "Cereals, Cereal Preparation", "10 11 1901 1902 1904 1905"),
    "VEG": ("FOOD", None, "Vegetables", "07 2001 2002 2003 2004 2005"),
    "FRUIT": ("FOOD", None, "Fruits", "08 2006 2007 2008 2009"),
    "RAW": (
        None,
        "Raw Materials",
        "Raw Materials",
        "05 06 12 13 14 15 25 26 4001 4101 4102 4103 4301 4401 4402 4404 4405 47 5001 5002 "
        "5003 5101 5102 5103 5201 5202 5203 5301 5302 5303 5305 7112 7204 7404 7503 7602 "
        "7802 7902 8002",
    ),
    "WOOD": ("RAW", None, "Wood", "4403 4406 4407"),
    "SOY": ("RAW", None, "Soy Beans", "1201"),
    "ORE_NF": (
        "RAW",
        None,
        "Ore Of Nonferrous",
        "2602 2603 2604 2605 2606 2607 2608 2609 2610 2611 2612 2613 2614 2615 2616 2617",
    ),
    "IRON_ORE": ("RAW", None, "Iron Ore And Concentrates", "2601"),
    "FUEL": (None, "Mineral Fuels", "Mineral Fuels", "27"),
    "CRUDE": ("FUEL", None, "Petroleum", "2709"),
    "PPROD": ("FUEL", None, "Petroleum Products", "2710 2712 2713"),
    "SPIRITS": ("PPROD", None, "(Petroleum Spirits)", "271012"),
    "LNG": ("FUEL", None, "Lng", "271111"),
    "LPG": ("FUEL", None, "Lpg", "271112 271113"),
    "COAL": ("FUEL", None, "Coal", "2701"),
    "COAL_NES": ("COAL", None, "(Coal N.e.s)", "270112 270119"),
    "CHEM": (None, "Chemicals", "Chemicals", "28 31 32 33 34 35 36 38"),
    "ORGANIC": ("CHEM", "Organic Chemicals", "Organic Chemicals", "29"),
    "MEDICAL": ("CHEM", "Medical Products", "Medical Products", "30"),
    "PLASTIC": ("CHEM", "Plastic Materials", None, " ".join(f"39{h:02d}" for h in range(1, 22))),
    "MANUF": (None, "Manufactured Goods", "Manufactured Goods", "41 46"),
    "IRON_STEEL": (
        "MANUF",
        "Iron And Steel Products",
        "Iron And Steel Products",
        "72 7301 7302 7303 7304 7305 7306",
    ),
    "NONFERROUS": (
        "MANUF",
        "Nonferrous Metals",
        "Nonferrous Metals",
        "74 75 76 78 79 80 81 7106 7110",
    ),
    "METAL_MANUF": ("MANUF", "Manufactures Of Metals", "Manufactures Of Metals", "73 82 83"),
    "TEXTILE": (
        "MANUF",
        "Textile Yarn, Fabrics",
        "Textile Yarn, Fabrics",
        "50 51 52 53 54 55 56 57 58 59 60 63",
    ),
    "NONMETAL": (
        "MANUF",
        "Non-Metallic Mineral Ware",
        "Non-Metallic Mineral Ware",
        "68 69 70 7101 7102 7103 7104 7105",
    ),
    "RUBBER": ("MANUF", "Rubber Manufactured", None, "40"),
    "PAPER": ("MANUF", "Paper & Paper Manufactures", None, "48"),
    "WOODMANUF": ("MANUF", None, "Wood & Cork Manufactured", "44 45"),
    "MACH": (None, "Machinery", "Machinery", "84"),
    "POWERGEN": (
        "MACH",
        "Power Generating Machine",
        "Power Generating Machine",
        "8401 8402 8403 8404 8405 8406 8407 8408 8409 8410 8411 8412",
    ),
    "COMPUTER": ("MACH", "Computers And Units", "Computers And Units", "8471"),
    "COMP_PARTS": ("MACH", "Parts Of Computer", "Parts Of Computer", "847330"),
    "METALWORK": (
        "MACH",
        "Metalworking Machinery",
        None,
        "8456 8457 8458 8459 8460 8461 8462 8463",
    ),
    "PUMP": ("MACH", "Pump And Centrifuges", None, "8413 8414 8421"),
    "CONSTR": ("MACH", "Construction Machines", None, "8429 8430"),
    "HANDLING": ("MACH", "Mechanical Handling Equip", None, "8425 8426 8427 8428"),
    "HEATCOOL": ("MACH", "Heating Or Cooling Machine", None, "8415 8418 8419"),
    "TEXMACH": ("MACH", "Textile Machines", None, "8444 8445 8446 8447 8448 8449 8451 8452"),
    "BEARING": ("MACH", "Ball Or Roller Bearings", None, "8482"),
    "SEMIMACH": ("MACH", "Semicon Machinery Etc", None, "8486"),
    "ELEC": (None, "Electrical Machinery", "Electrical Machinery", "85"),
    "SEMI": ("ELEC", "Semiconductors Etc", "Semiconductors Etc", "8532 8533 8541"),
    "IC": ("SEMI", "(Ic)", "(Ic)", "8542"),
    "AV": (
        "ELEC",
        "Audio & Visual Apparatus",
        "Audio And Visual Apparatus",
        "8518 8519 8525 8527 8528",
    ),
    "VIDEO": ("AV", "(Video Rec Or Repro App)", None, "8521 852581 852582 852583 852589"),
    "TV": ("AV", "(Tv Receiver)", None, "852872 852873"),
    "AV_PARTS": ("ELEC", "Parts Of Audio, Visual App.", None, "8522 8529"),
    "POWERMACH": (
        "ELEC",
        "Electrical Power Machinery",
        "Electrical Power Machinery",
        "8501 8502 8503 8504",
    ),
    "TELEPHONY": ("ELEC", "Telephony, Telegraphy", "Telephony, Telegraphy", "8517 852550 852560"),
    "PHONES": ("TELEPHONY", None, "(Telephone Sets)", "851711 851713 851714 851718"),
    "ELMEAS": ("ELEC", "Electrical Measuring", "Electrical Measuring", "9030"),
    "ELAPP": ("ELEC", "Electrical Apparatus", None, "8535 8536 8537 8538"),
    "BATTERY": ("ELEC", "Batteries And Accumulators", None, "8506 8507"),
    "WIRE": ("ELEC", None, "Insulated Wire And Cable", "8544"),
    "TRANS": (None, "Transport Equipment", "Transport Equipment", "86 87"),
    "MOTORVEH": ("TRANS", "Motor Vehicles", "Motor Vehicles", "8701 8705"),
    "CAR": ("MOTORVEH", "(Car)", None, "8703"),
    "BUSTRUCK": ("MOTORVEH", "(Bus&Truck)", None, "8702 8704"),
    "AUTOPARTS": ("TRANS", "Parts Of Motor Vehicles", "Parts Of Motor Vehicles", "8706 8707 8708"),
    "MOTORCYCLE": ("TRANS", "Motorcycles, Autocycles", None, "8711"),
    "SHIP": ("TRANS", "Ships", None, "89"),
    "AIRCRAFT": ("TRANS", "Aircraft", "Aircraft", "88"),
    "OTHER": (
        None,
        "Others",
        "Others",
        "42 43 49 64 65 66 67 71 91 92 93 94 95 96 97 3922 3923 3924 3925 3926",
    ),
    "SCIENT": ("OTHER", "Scientific, Optical Inst", "Scientific, Optical Inst", "90"),
    "PHOTO": ("OTHER", "Photographic Supplies", None, "37"),
    "CLOTHING": ("OTHER", None, "Clothing And Accessories", "61 62"),
    "FURNITURE": ("OTHER", None, "Furniture", "9401 9402 9403 9404"),
    "BAGS": ("OTHER", None, "Bags", "4202"),
}

# fmt: off
# Relative pick/size weight of key HS subheadings within their group (longest prefix wins).
_BOOST = {
    "870323": 6, "870324": 3, "870340": 5, "870360": 2, "870380": 2.5, "870322": 2,
    "870899": 4, "870840": 3, "870829": 2, "870830": 1.5, "870850": 1.5, "870870": 1.5,
    "870421": 2, "870422": 2, "854231": 4, "854232": 4, "854233": 2, "854239": 4,
    "853224": 4, "854140": 2, "854129": 2, "848620": 4, "848690": 3, "848640": 1.5,
    "270112": 3, "270900": 3, "271111": 3, "300490": 5, "300215": 4, "847130": 3,
    "847150": 2, "851713": 6, "901890": 3, "901380": 2, "903180": 2, "710812": 3,
    "880240": 4, "880730": 3, "890190": 3, "841191": 3, "840991": 2, "847989": 2,
    "260300": 4, "260111": 3, "100590": 3, "100199": 3, "020130": 2, "020230": 2,
    "020329": 2, "030617": 2, "720838": 2, "720827": 2, "740311": 2, "711011": 2,
    "610910": 2, "620462": 2, "870332": 1.5, "880330": 2, "293339": 2, "382499": 2,
}
# Unit1 (first quantity unit, Quantity1) for a few headings: (unit, yen per unit)
_UNIT1 = {"2709": ("KL", 80_000.0), "2710": ("KL", 90_000.0), "61": ("DZ", 30_000.0),
          "62": ("DZ", 40_000.0)}
# yen per Unit2 (before row-level noise)
_UNIT2_PRICE = {"NO": 30_000.0, "MT": 100_000.0, "L": 500.0, "GR": 8_000.0, "CM": 60_000.0,
                "PR": 3_000.0, "SM": 3_000.0, "ST": 1_000_000.0, "GT": 300_000.0, "M": 500.0,
                "CT": 30_000.0, "TH": 50_000.0, "DZ": 20_000.0, "KL": 80_000.0}
_KG_PRICE_BY_CHAPTER = {25: 20.0, 26: 20.0, 27: 80.0, 10: 50.0, 12: 80.0, 72: 150.0, 47: 100.0,
                        44: 80.0, 39: 300.0, 29: 300.0, 28: 200.0, 30: 20_000.0, 84: 5_000.0,
                        85: 8_000.0, 90: 20_000.0, 87: 1_500.0, 88: 30_000.0}
_HS_PRICE = {"8703": 3_000_000.0, "8542": 300.0, "8541": 30.0, "8532": 5.0, "8517": 40_000.0}
# fmt: on

_PROFILE_PATH = Path(__file__).with_name("profile.csv")
_COUNTRIES_PATH = REF_DATA_DIR / "countries.csv"


# ----------------------------------------------------------------------------------------------
# Taxonomy lookups
# ----------------------------------------------------------------------------------------------
def _flow_leaf(node: str, flow: int) -> str:
    """Nearest ancestor of ``node`` (itself included) that is a group of ``flow``'s table."""
    cur: str | None = node
    while cur is not None:
        parent, exp_name, imp_name, _ = _TAXONOMY[cur]
        if (exp_name if flow == 1 else imp_name) is not None:
            return cur
        cur = parent
    raise KeyError(node)


def _hs_node(hs6: str) -> str | None:
    for n in (6, 4, 2):
        node = _PREFIX_NODE.get(hs6[:n])
        if node is not None:
            return node
    return None


def _prefix_lookup(table: dict[str, object], code: str) -> object | None:
    for n in range(len(code), 1, -1):
        if code[:n] in table:
            return table[code[:n]]
    return None


def _build_prefix_index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for node, (_, _, _, prefixes) in _TAXONOMY.items():
        for p in prefixes.split():
            if p in idx:
                raise AssertionError(f"HS prefix {p} mapped twice ({idx[p]}, {node})")
            idx[p] = node
    return idx


_PREFIX_NODE = _build_prefix_index()


# ----------------------------------------------------------------------------------------------
# Profile (derived data) -- build (developer tool) and load (run time)
# ----------------------------------------------------------------------------------------------
def build_profile(reference_dir: Path) -> str:
    """Derive the text of ``profile.csv`` from the shared reference files.

    Developer tool, never called by :func:`write_sample`.  Reads ``real/trade_year.csv``
    (billion yen) and ``codes/hs9_master_2024_ja.csv`` under ``reference_dir``.  Output tables:
    ``total`` (calendar-year totals in thousand yen per partner code, ``EU27``, ``WORLD``),
    ``leaves`` (the flow's commodity groups), ``comp`` (each group's share of a partner's trade in
    2023-2025, parts per million, in ``leaves`` order; ``EU_REST`` / ``ROW_REST`` = the EU members /
    countries that trade_year.csv does not name) and ``pool`` (9-digit codes per taxonomy node,
    ``code`` or ``code:UNIT2`` when the unit is not KG).
    """
    reference_dir = Path(reference_dir)
    vals: dict[tuple[str, str, str, int], float] = {}
    with open(reference_dir / "real" / "trade_year.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            vals[(r["ex_im"], r["area"], r["goods"], int(float(r["year"])))] = float(r["value"])
    years = list(range(2009, 2026))
    comp_years = (2023, 2024, 2025)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["table", "flow", "key", "data"])
    w.writerow(["years", "", "", " ".join(map(str, years))])

    def k(x: float) -> int:
        return int(round(x * 1_000_000))

    for flow, fname in ((1, "export"), (2, "import")):
        # partners that trade_year.csv names in this flow's table (a few appear in one flow only)
        named = {a: c for a, c in AREA_CODES.items() if (fname, a, "Grand Total", 2024) in vals}
        eu_named = [a for a, c in named.items() if c in EU27]
        non_eu_named = [a for a, c in named.items() if c not in EU27]

        def gt(area: str, y: int, _f: str = fname) -> int:
            v = vals.get((_f, area, "Grand Total", y))
            if v is None:  # Vietnam, Qatar exports before 2017: scale the first year by world
                y0 = min(key[3] for key in vals if key[:3] == (_f, area, "Grand Total"))
                v = vals[(_f, area, "Grand Total", y0)] * (
                    vals[(_f, "Grand Total", "Grand Total", y)]
                    / vals[(_f, "Grand Total", "Grand Total", y0)]
                )
            return k(v)

        for area, code in sorted(named.items(), key=lambda t: t[1]):
            w.writerow(["total", flow, code, " ".join(str(gt(area, y)) for y in years)])
        eu27 = [gt("EU", y) - (gt("U King", y) if y <= 2019 else 0) for y in years]
        w.writerow(["total", flow, "EU27", " ".join(map(str, eu27))])
        w.writerow(["total", flow, "WORLD", " ".join(str(gt("Grand Total", y)) for y in years)])
        for i, y in enumerate(years):
            rest = gt("Grand Total", y) - eu27[i] - sum(gt(a, y) for a in non_eu_named)
            eu_rest = eu27[i] - sum(gt(a, y) for a in eu_named)
            assert rest > 0 and eu_rest > 0, (flow, y, rest, eu_rest)

        leaves = [n for n in _TAXONOMY if _flow_leaf(n, flow) == n]
        names = {n: _TAXONOMY[n][1 if flow == 1 else 2] for n in leaves}
        children = {n: [c for c in leaves if _TAXONOMY[c][0] == n] for n in leaves}

        def node_val(area: str, node: str, _f: str = fname, _names: dict = names) -> float:
            return sum(vals.get((_f, area, _names[node], y), 0.0) for y in comp_years)

        def shares(nv: dict[str, float], _leaves: list = leaves, _ch: dict = children) -> str:
            lv = {n: max(0.0, nv[n] - sum(nv[c] for c in _ch[n])) for n in _leaves}
            tot = sum(lv.values())
            return " ".join(str(round(lv[n] / tot * 1_000_000)) for n in _leaves)

        w.writerow(["leaves", flow, "", " ".join(leaves)])

        for area, code in sorted(named.items(), key=lambda t: t[1]):
            w.writerow(["comp", flow, code, shares({n: node_val(area, n) for n in leaves})])
        eu_rest = {n: node_val("EU", n) - sum(node_val(a, n) for a in eu_named) for n in leaves}
        w.writerow(["comp", flow, "EU_REST", shares(eu_rest)])
        row_rest = {
            n: node_val("Grand Total", n)
            - node_val("EU", n)
            - sum(node_val(a, n) for a in non_eu_named)
            for n in leaves
        }
        w.writerow(["comp", flow, "ROW_REST", shares(row_rest)])

    pools: dict[str, list[str]] = {n: [] for n in _TAXONOMY}
    with open(
        reference_dir / "codes" / "hs9_master_2024_ja.csv", newline="", encoding="utf-8"
    ) as fh:
        for r in csv.DictReader(fh):
            code = r["HSコード"].strip()
            if not re.fullmatch(r"\d{9}", code) or code[:2] in ("77", "98", "99"):
                continue
            node = _hs_node(code[:6])
            if node is None:
                continue
            unit = (r["単位2"].strip().splitlines() or ["KG"])[0].strip() or "KG"
            pools[node].append(code if unit == "KG" else f"{code}:{unit}")
    for node in _TAXONOMY:
        if pools[node]:
            w.writerow(["pool", "", node, " ".join(sorted(pools[node]))])
    return out.getvalue()


class _Profile:
    def __init__(self, path: Path) -> None:
        self.years: list[int] = []
        self.totals: dict[tuple[int, str], list[int]] = {}
        self.comp: dict[tuple[int, str], dict[str, float]] = {}
        self.pools: dict[str, list[tuple[str, str]]] = {}
        leaves: dict[int, list[str]] = {}
        with open(path, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                t, data = r["table"], r["data"].split()
                if t == "years":
                    self.years = [int(x) for x in data]
                elif t == "total":
                    self.totals[(int(r["flow"]), r["key"])] = [int(x) for x in data]
                elif t == "leaves":
                    leaves[int(r["flow"])] = data
                elif t == "comp":
                    ppm = [int(x) for x in data]
                    self.comp[(int(r["flow"]), r["key"])] = {
                        a: b / 1e6 for a, b in zip(leaves[int(r["flow"])], ppm, strict=True) if b
                    }
                elif t == "pool":
                    self.pools[r["key"]] = [
                        (x.split(":")[0], x.split(":")[1] if ":" in x else "KG") for x in data
                    ]

    def total(self, flow: int, key: str, year: int) -> int:
        y = min(max(year, self.years[0]), self.years[-1])
        return self.totals[(flow, key)][y - self.years[0]]


@lru_cache(maxsize=1)
def _profile() -> _Profile:
    return _Profile(_PROFILE_PATH)


@lru_cache(maxsize=4)
def _countries(path: Path = _COUNTRIES_PATH) -> tuple[tuple[str, str], ...]:
    """(code, area) of every valid customs country code."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [(r["country_code"].strip(), r["area"].strip()) for r in csv.DictReader(fh)]
    return tuple(sorted(rows))


# ----------------------------------------------------------------------------------------------
# Partner totals per year and segment (inputs of the release targets)
# ----------------------------------------------------------------------------------------------
def _segment_of(code: str, area: str) -> int:
    if code == "304":
        return US
    if code == "105":
        return CN
    if code in EU27:
        return EU
    if area == "Asia":
        return AO
    return ROW


@lru_cache(maxsize=256)
def _country_table(year: int, flow: int) -> tuple[tuple[str, int, str, float], ...]:
    """(code, segment, composition key, annual value in thousand yen) of trading countries."""
    prof = _profile()
    named = {key for (f, key) in prof.totals if f == flow and key.isdigit()}
    world = prof.total(flow, "WORLD", year)
    eu27 = prof.total(flow, "EU27", year)
    eu_rest = eu27 - sum(prof.total(flow, c, year) for c in named if c in EU27)
    row_rest = world - eu27 - sum(prof.total(flow, c, year) for c in named if c not in EU27)
    out = []
    rest_w = {c: float(_REST_WEIGHTS.get(c, 1)) for c, _a in _countries() if c not in named}
    rest_w = {c: w for c, w in rest_w.items() if w > 0 and _tradable(c)}
    eu_w = sum(w for c, w in rest_w.items() if c in EU27)
    row_w = sum(w for c, w in rest_w.items() if c not in EU27)
    for code, area in _countries():
        if code in named:
            out.append((code, _segment_of(code, area), code, float(prof.total(flow, code, year))))
        elif code in rest_w:
            if code in EU27:
                out.append((code, EU, "EU_REST", eu_rest * rest_w[code] / eu_w))
            else:
                out.append(
                    (code, _segment_of(code, area), "ROW_REST", row_rest * rest_w[code] / row_w)
                )
    return tuple(out)


def _tradable(code: str) -> bool:
    """False for North Korea (no trade) and the special areas 7xx (for order, unknown, bonded)."""
    return not code.startswith("7") and code != "104"


def _segment_annuals(year: int, flow: int) -> list[int]:
    prof = _profile()
    world = prof.total(flow, "WORLD", year)
    seg = [0, 0, 0, 0, 0]
    seg[US] = prof.total(flow, "304", year)
    seg[CN] = prof.total(flow, "105", year)
    seg[EU] = prof.total(flow, "EU27", year)
    seg[AO] = round(sum(v for _, s, _, v in _country_table(year, flow) if s == AO))
    seg[ROW] = world - seg[US] - seg[CN] - seg[EU] - seg[AO]
    assert min(seg) > 0, (year, flow, seg)
    return seg


def _seasonality(year: int, flow: int, seed: int) -> list[list[float]]:
    base = _SEASON[flow]
    return [
        [base[m] * math.exp(0.03 * _normal(seed, "season", year, flow, s, m)) for m in range(12)]
        for s in range(5)
    ]
