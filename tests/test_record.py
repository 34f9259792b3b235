"""Tests for the historical-record tables in data/ and their loader, smars_sim.core.record."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from smars_sim.core import record
from smars_sim.core.record import Figure, figure, figures, is_fact, load_table

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
REFERENCE = Path("/work/shared/reference/knight-2012-record.md")

STATUSES = {"confirmed", "derived", "secondary", "unconfirmed"}
SOURCE_KEYS = {"SEC", "SEC-PR", "KCG-0802", "KCG-Q3", "NYSE-CEE", "Dolfing"}
# The URL the record gives for each source key (the first, where it gives several copies).
KEY_URLS = {
    "SEC": "https://www.sec.gov/files/litigation/admin/2013/34-70694.pdf",
    "SEC-PR": "http://www.clmr.unsw.edu.au/resource//"
    "sec-charges-knight-capital-with-violations-of-market-access-rule",
    "KCG-0802": "http://www.businessinsider.com/"
    "knight-capital-is-facing-a-440-million-loss-after-yesterdays-trading-glitch-2012-8",
    "KCG-Q3": "http://www.sec.gov/Archives/edgar/data/1060749/000119312512425350/d425406dex991.htm",
    "NYSE-CEE": "http://tradebankerstyle.blogspot.com/2012/08/nyse-to-cancel-trades-beyond-30-band.html",
    "Dolfing": "https://medium.com/@bishr_tabbaa/"
    "the-rise-and-fall-of-knight-capital-buy-high-sell-low-rinse-and-repeat-ae17fae780f6",
}

COLUMNS = {
    "record_figures": [
        "key",
        "value",
        "unit",
        "qualifier",
        "label",
        "status",
        "source",
        "source_url",
        "quote",
    ],
    "timeline": ["date", "time_et", "event", "status", "source", "source_url"],
    "mechanism": ["key", "fact", "status", "source", "source_url", "quote"],
    "named_tickers": [
        "symbol",
        "company",
        "prev_close_usd",
        "open_usd",
        "peak_usd",
        "low_usd",
        "bust_threshold_usd",
        "bust_direction",
        "direction",
        "event",
        "status",
        "source",
        "source_url",
    ],
}
TEXT_COLUMNS = ("label", "event", "fact", "quote")


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _all_rows() -> list[tuple[str, dict[str, str]]]:
    return [(name, row) for name in COLUMNS for row in _read(name)]


def _urls(row: dict[str, str]) -> list[str]:
    return [u.strip() for u in row["source_url"].split(" ; ")]


def _row_id(name: str, row: dict[str, str]) -> str:
    ident = row.get("key") or row.get("symbol") or f"{row.get('date')} {row.get('time_et')}"
    return f"{name}: {ident}"


# --- structure --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_columns_exact(name: str) -> None:
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == COLUMNS[name]
    rows = _read(name)
    assert rows, f"{name}.csv has no rows"
    for row in rows:
        assert None not in row, f"{_row_id(name, row)} has extra cells"
        assert all(v is not None for v in row.values()), f"{_row_id(name, row)} is short"


def test_every_row_has_source_url_and_status() -> None:
    for name, row in _all_rows():
        rid = _row_id(name, row)
        assert row["source"].strip(), f"{rid}: empty source"
        assert row["status"] in STATUSES, f"{rid}: status {row['status']!r}"
        urls = _urls(row)
        assert urls and all(re.fullmatch(r"https?://\S+", u) for u in urls), f"{rid}: {urls}"
        # One URL per named source, except sources the record gives no URL for.
        n_sources = len(row["source"].replace("; arithmetic", "").split(";"))
        n_without = row["source"].count("(no URL given)")
        assert len(urls) == n_sources - n_without, f"{rid}: {row['source']} vs {urls}"


def test_source_keys_are_known_and_carry_their_url() -> None:
    for name, row in _all_rows():
        rid = _row_id(name, row)
        for key in re.findall(r"\[([^\]]+)\]", row["source"]):
            assert key in SOURCE_KEYS, f"{rid}: unknown source key [{key}]"
            assert KEY_URLS[key] in _urls(row), f"{rid}: [{key}] without its URL"


def test_figure_keys_unique_and_snake_case() -> None:
    keys = [row["key"] for row in _read("record_figures")]
    assert len(keys) == len(set(keys))
    for key in keys:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key


def test_figure_values_are_plain() -> None:
    for row in _read("record_figures"):
        value = row["value"]
        if row["unit"] == "time_et":
            assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value), row["key"]
        else:
            assert re.fullmatch(r"-?\d+(\.\d+)?", value), f"{row['key']}: {value!r}"
        assert row["qualifier"], row["key"]
        assert row["label"], row["key"]


def test_quotes_are_short() -> None:
    for row in _read("record_figures"):
        assert len(row["quote"].split()) <= 15, row["key"]


@pytest.mark.skipif(not REFERENCE.exists(), reason="the reference record is not on this machine")
def test_quotes_and_urls_come_from_the_record() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for name, row in _all_rows():
        for url in _urls(row):
            assert url in text, f"{_row_id(name, row)}: URL not in the record: {url}"
        if row.get("quote"):
            assert row["quote"] in text, f"{_row_id(name, row)}: quote not in the record"


def test_timeline_dates_and_times() -> None:
    rows = _read("timeline")
    assert len(rows) >= 25
    for row in rows:
        assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", row["date"]), row["date"]
        assert row["time_et"] == "" or re.fullmatch(r"\d{2}:\d{2}", row["time_et"])
        assert row["event"].strip()
    dates = [row["date"] for row in rows]
    assert dates == sorted(dates), "timeline is not in date order"


def test_named_tickers_cells() -> None:
    rows = _read("named_tickers")
    for row in rows:
        assert row["symbol"].strip()
        assert row["direction"] in {"", "up", "down"}, row["symbol"]
        assert row["bust_direction"] in {"", "at_or_above", "at_or_below"}, row["symbol"]
        assert bool(row["bust_direction"]) == bool(row["bust_threshold_usd"]), row["symbol"]
        for col in record.TICKER_NUMERIC_COLUMNS:
            assert row[col] == "" or float(row[col]) > 0, (row["symbol"], col)
    symbols = {row["symbol"] for row in rows}
    wanted = {
        "WZE",
        "CO",
        "UTG RT",
        "EJ",
        "ARC",
        "CODE",
        "JWF",
        "ANF",
        "HOG",
        "EXC",
        "NOK",
        "BRK/B",
    }
    assert wanted <= symbols, wanted - symbols
    assert not any("KWK" in s or "?" in s for s in symbols), "Quicksilver's ticker is unconfirmed"
    companies = " ".join(row["company"] for row in rows).lower()
    for omitted in ("quicksilver", "corelogic", "goodyear"):
        assert omitted not in companies


# --- UNCONFIRMED is never fact -----------------------------------------------------------


def test_text_marked_unconfirmed_is_not_confirmed() -> None:
    for name, row in _all_rows():
        text = " ".join(row.get(c, "") for c in TEXT_COLUMNS)
        if "unconfirmed" in text.lower():
            assert row["status"] != "confirmed", _row_id(name, row)


def _timeline_rows(*words: str) -> list[dict[str, str]]:
    return [r for r in _read("timeline") if all(w in r["event"].lower() for w in words)]


def test_known_unconfirmed_items() -> None:
    # The 6th busted symbol: Quicksilver is not in the ticker table at all.
    tickers = _read("named_tickers")
    assert not [
        r
        for r in tickers
        if "quicksilver" in r["event"].lower() and r["status"] in {"confirmed", "derived"}
    ]

    # ARC's threshold: no confirmed ARC row gives one, and an unconfirmed row flags it.
    arc = [r for r in tickers if r["symbol"] == "ARC"]
    assert all(r["bust_threshold_usd"] == "" for r in arc if r["status"] == "confirmed")
    assert any(r["status"] == "unconfirmed" and "threshold" in r["event"].lower() for r in arc)

    # NOK's 23.2M shares.
    nok = [r for r in tickers if r["symbol"] == "NOK" and "23.2M" in r["event"]]
    assert nok and all(r["status"] == "unconfirmed" for r in nok)

    # Every 09:58 item (stop time, final Spansion halt) and NYSE's 09:34 notice.
    for name, row in _all_rows():
        text = " ".join(row.get(c, "") for c in (*TEXT_COLUMNS, "value", "time_et"))
        if "09:58" in text or "09:34" in text:
            assert row["status"] == "unconfirmed", _row_id(name, row)
    assert _read("timeline") and any(r["time_et"] == "09:58" for r in _read("timeline"))
    assert figure("stop_time_variant").status == "unconfirmed"

    # The rollback's clock time: no rollback row with a time; the unknown time is flagged.
    rollback = _timeline_rows("uninstalled") + _timeline_rows("rollback")
    assert rollback
    for row in rollback:
        if row["time_et"]:
            assert row["status"] == "unconfirmed", row["event"]
    flagged = _timeline_rows("rollback", "not public")
    assert flagged and all(r["status"] == "unconfirmed" for r in flagged)

    # Per-server deploy dates.
    deploy = _timeline_rows("per-server")
    assert deploy and all(r["status"] == "unconfirmed" for r in deploy)


def test_secondary_and_derived_statuses() -> None:
    assert figure("impact_50pct_10pct_symbols").status == "secondary"
    assert figure("impact_20pct_5pct_symbols").status == "confirmed"
    for key in (
        "loss_rate_usd_per_min",
        "exec_rate_per_s",
        "shares_rate_per_min",
        "gross_position_usd",
        "run_end",
    ):
        assert figure(key).status == "derived", key
    dolfing_only = [row for name, row in _all_rows() if row["source"].strip() == "[Dolfing]"]
    assert all(r["status"] in {"secondary", "unconfirmed"} for r in dolfing_only)


# --- values match the record ------------------------------------------------------------

EXPECTED = {
    "parent_orders": 212,
    "bnet_emails": 97,
    "bnet_first_email": "08:01",
    "net_long_symbols": 80,
    "net_short_symbols": 74,
    "symbols_traded": 154,
    "loss_usd_min": 460_000_000,
    "loss_knight_0802_usd": 440_000_000,
    "loss_q3_trading_usd": 457_600_000,
    "net_long_usd": 3_500_000_000,
    "net_short_usd": 3_150_000_000,
    "shares_traded_min": 397_000_000,
    "executions_min": 4_000_000,
    "impact_20pct_5pct_symbols": 75,
    "impact_50pct_10pct_symbols": 37,
    "busted_symbols": 6,
    "bust_threshold_pct": 30,
    "duration_minutes": 45,
    "servers": 8,
    "servers_missed": 1,
    "collar_pct": 9.5,
    "account33_limit_usd": 2_000_000,
    "penalty_usd": 12_000_000,
    "rescue_usd": 400_000_000,
    "rescue_price_usd": 1.5,
}


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()))
def test_values_match_record(key: str, expected: float | str) -> None:
    fig = figure(key)
    assert fig.value == expected
    assert type(fig.value) is type(expected)


def test_derived_values_are_consistent() -> None:
    loss = figure("loss_usd_min").value
    minutes = figure("duration_minutes").value
    assert isinstance(loss, int) and isinstance(minutes, int)
    assert figure("loss_rate_usd_per_min").value == pytest.approx(loss / minutes, rel=0.01)
    assert figure("exec_rate_per_s").value == pytest.approx(4_000_000 / (minutes * 60), rel=0.01)
    assert figure("shares_rate_per_min").value == pytest.approx(397e6 / minutes, rel=0.01)
    gross = figure("net_long_usd").value + figure("net_short_usd").value  # type: ignore[operator]
    assert figure("gross_position_usd").value == gross


def test_named_ticker_values() -> None:
    rows = {(r["symbol"], r["status"]): r for r in record.named_tickers()}
    wze = rows[("WZE", "confirmed")]
    assert (wze["prev_close_usd"], wze["open_usd"], wze["peak_usd"]) == (3.5, 3.6, 14.76)
    assert wze["bust_threshold_usd"] == 4.68 and wze["low_usd"] is None
    assert rows[("CO", "confirmed")]["bust_threshold_usd"] == 3.22
    assert rows[("UTG RT", "confirmed")]["bust_threshold_usd"] == 0.0497
    assert rows[("EJ", "confirmed")]["bust_direction"] == "at_or_below"
    assert rows[("HOG", "confirmed")]["direction"] == "down"
    assert rows[("HOG", "confirmed")]["prev_close_usd"] is None


# --- the loader ---------------------------------------------------------------------------


def test_data_dir_resolves() -> None:
    folder = record.data_dir()
    assert folder.is_dir()
    assert (folder / "record_figures.csv").is_file()


def test_data_dir_missing_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(record, "_package_data_dir", lambda: None)
    monkeypatch.setattr(record, "_repo_data_dir", lambda: tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="smars_sim/_data"):
        record.data_dir()


def test_load_table_unknown_name_lists_tables() -> None:
    with pytest.raises(ValueError, match="'nope'") as info:
        load_table("nope")
    for name in COLUMNS:
        assert name in str(info.value)


def test_load_table_reads_rows() -> None:
    rows = load_table("record_figures")
    assert rows[0].keys() == set(COLUMNS["record_figures"])
    assert len(rows) == len(figures())


def test_figure_unknown_key_suggests() -> None:
    with pytest.raises(ValueError, match="parent_orders") as info:
        figure("parent_order")
    assert "'parent_order'" in str(info.value)
    with pytest.raises(ValueError, match="zzz"):
        figure("zzz")


def test_figures_cached_and_typed() -> None:
    assert figures() is figures()
    for fig in figures().values():
        assert isinstance(fig, Figure)
        if fig.unit == "time_et":
            assert isinstance(fig.value, str)
        else:
            assert isinstance(fig.value, int | float)
    with pytest.raises(AttributeError):
        figure("parent_orders").value = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("executions_min", "over 4,000,000 (SEC ¶1, ¶17)"),
        ("parent_orders", "212 (SEC ¶1, ¶17)"),
        ("loss_usd_min", "over $460M (SEC ¶1, ¶10, ¶17)"),
        ("net_long_usd", "approximately $3.5B (SEC ¶1, ¶17)"),
        ("net_short_usd", "approximately $3.15B (SEC ¶1, ¶17)"),
        ("account33_limit_usd", "$2M (SEC ¶23)"),
        ("loss_q3_trading_usd", "$457.6M (KCG-Q3)"),
        ("rescue_price_usd", "$1.50 (Reuters, rescue report)"),
        ("shares_traded_min", "over 397,000,000 shares (SEC ¶1, ¶17)"),
        ("collar_pct", "9.5% (SEC ¶21)"),
        ("bnet_first_email", "approximately 08:01 ET (SEC ¶19)"),
        ("duration_minutes", "approximately 45 minutes (SEC ¶1, ¶10, ¶17)"),
        ("kcg_change_0801_usd", "-$3.39 (Fox Business via swissamerica)"),
    ],
)
def test_cite(key: str, expected: str) -> None:
    assert figure(key).cite() == expected


def test_cite_flags_non_facts() -> None:
    fig = figure("stop_time_variant")
    assert not is_fact(fig)
    assert fig.cite().endswith("; unconfirmed)")
    assert figure("impact_50pct_10pct_symbols").cite().endswith("; secondary)")


def test_is_fact() -> None:
    base = figure("parent_orders")
    for status, fact in [
        ("confirmed", True),
        ("derived", True),
        ("secondary", False),
        ("unconfirmed", False),
    ]:
        fig = Figure(**{**{f: getattr(base, f) for f in Figure.__slots__}, "status": status})
        assert is_fact(fig) is fact


def test_timeline_loader() -> None:
    rows = record.timeline()
    assert rows[0]["date"] == "2003" and rows[0]["time_et"] is None
    assert any(r["time_et"] == "14:57" for r in rows)
