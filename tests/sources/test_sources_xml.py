"""The ``xml`` adapter on real files in tmp_path and against the real ecology simulator on 127.0.0.1:
namespaces, record flattening, cursor filtering, hardening (XXE, entity bombs, size), truncation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from tenacity import wait_none

from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.pipeline.handover import read_template_file
from creditsync.secrets import Connection
from creditsync.simulators.departments.ecology_environment import (
    NAMESPACE,
    RunningEcologyEnvironment,
    start_in_thread,
)
from creditsync.sources.base import RawRecord
from creditsync.sources.cursor import Cursor, max_cursor
from creditsync.sources.http_base import default_retrying
from creditsync.sources.registry import get_adapter_class
from creditsync.sources.xml import XmlSourceAdapter, read_xml_file

DOC = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="urn:a" xmlns:b="urn:b">
  <header><sent>2026-05-01</sent></header>
  <rec id="1"><k>r1</k><ts>2026-05-02 10:00:00</ts><tag>x</tag><tag>y</tag>
    <fine unit="元">2000</fine><party><name>张三</name><id>1</id></party></rec>
  <rec><k>r2</k><ts>2026-05-01 09:00:00</ts></rec>
  <b:rec><k>r3</k><ts>2026-05-03 08:00:00</ts></b:rec>
  <rec><k>r4</k><!-- no cursor --></rec>
</feed>
"""
SECRET = "creditsync-secret-4242"
BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
        + "]>\n<feed><rec><k>&lol9;</k></rec></feed>").replace("&lol0;", "&lol;")


def write(tmp_path: Path, text: str, name: str = "feed.xml", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def file_adapter(files: Path, /, **options: Any) -> XmlSourceAdapter:
    defaults = {"files": str(files), "record_tag": "rec", "key_field": "k", "cursor_field": "ts"}
    return XmlSourceAdapter("dept", {**defaults, **options}, None)


def read_all(adapter: XmlSourceAdapter, cursor: str | None = None) -> list[RawRecord]:
    return list(adapter.read("penalty", {}, cursor))


def test_xml_kind_is_registered() -> None:
    assert get_adapter_class("xml") is XmlSourceAdapter


@pytest.mark.parametrize(
    ("record_tag", "namespaces", "keys"),
    [
        ("rec", {}, ["r1", "r2", "r3", "r4"]),  # a bare name: any namespace
        ("a:rec", {"a": "urn:a"}, ["r1", "r2", "r4"]),  # the config's prefix need not be the document's
        ("x:rec", {"x": "urn:b"}, ["r3"]),
        ("{urn:b}rec", {}, ["r3"]),
        ("{urn:other}rec", {}, []),
    ],
)
def test_record_tag_and_namespaces(
    tmp_path: Path, record_tag: str, namespaces: dict[str, str], keys: list[str]
) -> None:
    adapter = file_adapter(write(tmp_path, DOC), record_tag=record_tag, namespaces=namespaces)
    assert [r.key for r in read_all(adapter)] == keys


def test_bare_tag_also_matches_documents_without_namespace(tmp_path: Path) -> None:
    path = write(tmp_path, "<feed><rec><k>1</k><ts>1</ts></rec></feed>")
    assert [r.key for r in read_all(file_adapter(path))] == ["1"]


def test_unknown_prefix_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="prefix 'p' is not in the namespaces"):
        file_adapter(tmp_path / "x.xml", record_tag="p:rec")


def test_records_become_flat_dicts(tmp_path: Path) -> None:
    first = read_all(file_adapter(write(tmp_path, DOC)))[0]
    assert first.data == {"k": "r1", "ts": "2026-05-02 10:00:00", "tag": ["x", "y"], "fine": "2000",
                          "party": {"name": "张三", "id": "1"}}
    with_attributes = read_all(file_adapter(write(tmp_path, DOC), attributes=True))[0]
    assert with_attributes.data["@id"] == "1" and with_attributes.data["fine@unit"] == "元"


def test_cursor_filter_is_inclusive_and_the_feed_need_not_be_sorted(tmp_path: Path) -> None:
    records = read_all(file_adapter(write(tmp_path, DOC)), cursor="2026-05-02 10:00:00")
    assert [(r.key, r.cursor) for r in records] == [
        ("r1", Cursor.parse("2026-05-02 10:00:00")), ("r3", Cursor.parse("2026-05-03 08:00:00")),
        ("r4", None)]
    assert records[-1].error == "item has no usable 'ts' (got nothing) (file feed.xml, record 4)"
    # The pipeline commits the highest cursor, whatever the order records came in.
    assert max_cursor(None, records) == Cursor.parse("2026-05-03 08:00:00")
    assert max_cursor(Cursor.parse("2026-06-01 00:00:00"), records) == Cursor.parse("2026-06-01 00:00:00")


def test_records_without_a_key_are_flagged_not_fatal(tmp_path: Path) -> None:
    path = write(tmp_path, "<feed><rec><ts>1</ts></rec><rec><k>2</k><ts>2</ts></rec></feed>")
    records = read_all(file_adapter(path))
    assert records[0].error and records[0].key.startswith("bad:") and records[1].key == "2"


def test_files_glob_reads_every_matching_file_in_name_order(tmp_path: Path) -> None:
    for day in ("0502", "0501"):
        write(tmp_path, f"<feed><rec><k>{day}</k><ts>{day}</ts></rec></feed>", f"export-{day}.xml")
    adapter = file_adapter(tmp_path / "export-*.xml")
    assert [r.key for r in read_all(adapter)] == ["0501", "0502"]
    adapter.check()
    file_adapter(tmp_path / "none-*.xml").check()  # nothing dropped yet (or all delivered): fine
    with pytest.raises(FatalError, match="does not exist"):
        file_adapter(tmp_path / "gone" / "export-*.xml").check()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "/feed"}, "exactly one of 'path'"),
        ({"files": None}, "exactly one of 'path'"),
        ({"files": None, "path": "/feed"}, "needs source.connection_id"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"colour": "red"}, "unknown option 'colour'"),
    ],
)
def test_option_errors(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        read_all(file_adapter(tmp_path / "feed.xml", **options))


# -- hardening -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_external_entity_is_refused_and_the_file_never_read(tmp_path: Path, encoding: str) -> None:
    secret = write(tmp_path, SECRET, "secret.txt")
    xxe = (f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE feed [<!ENTITY xxe SYSTEM '
           f'"file://{secret}">]>\n<feed><rec><k>&xxe;</k><ts>1</ts></rec></feed>')
    adapter = file_adapter(write(tmp_path, xxe, encoding=encoding))
    with pytest.raises(FatalError, match="declares entities") as caught:
        read_all(adapter)
    assert SECRET not in str(caught.value) and "XXE" in str(caught.value)


def test_etc_passwd_entity_is_refused(tmp_path: Path) -> None:
    xxe = ('<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           "<feed><rec><k>&xxe;</k><ts>1</ts></rec></feed>")
    with pytest.raises(FatalError, match="unsafe XML") as caught:
        read_all(file_adapter(write(tmp_path, xxe)))
    assert "root:" not in str(caught.value)


def test_external_dtd_is_refused_but_a_bare_doctype_is_fine(tmp_path: Path) -> None:
    external = '<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/feed.dtd"><feed><rec><k>1</k><ts>1</ts></rec></feed>'
    with pytest.raises(FatalError, match="external DTD"):
        read_all(file_adapter(write(tmp_path, external)))
    bare = "<!DOCTYPE feed><feed><rec><k>1</k><ts>1</ts></rec></feed>"
    assert [r.key for r in read_all(file_adapter(write(tmp_path, bare)))] == ["1"]


def test_billion_laughs_fails_fast(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(FatalError, match="entity-expansion"):
        read_all(file_adapter(write(tmp_path, BOMB)))
    assert time.monotonic() - started < 2


def test_entities_that_slip_past_the_byte_scan_are_still_refused(tmp_path: Path) -> None:
    """A comment that looks like an element ends the prolog scan early: the parsed DOCTYPE check and
    libxml2's amplification limit are the second line."""
    sneaky = BOMB.replace('<?xml version="1.0"?>\n', "<!-- <a -->")
    with pytest.raises(FatalError, match="unsafe XML"):
        read_all(file_adapter(write(tmp_path, sneaky)))
    entity = '<!-- <a --><!DOCTYPE feed [<!ENTITY e "x">]><feed><rec><k>&e;</k><ts>1</ts></rec></feed>'
    with pytest.raises(FatalError, match="declares entities or names an external DTD"):
        read_all(file_adapter(write(tmp_path, entity)))


def test_truncated_document_names_the_line_after_yielding_what_came_before(tmp_path: Path) -> None:
    path = write(tmp_path, DOC[: DOC.index("<k>r3</k>") + 6])
    records: list[RawRecord] = []
    with pytest.raises(RetriableError, match=r"truncated .* line 7") as caught:
        records.extend(file_adapter(path).read("penalty", {}, None))
    assert [r.key for r in records] == ["r1", "r2"]  # the pipeline discards these with the failed stream
    assert caught.value.context["line"] == 7


def test_malformed_document_is_fatal(tmp_path: Path) -> None:
    path = write(tmp_path, "<feed>\n<rec><k>1</k></rec>\n<rec><k>2</j></rec>\n" + "<rec/>" * 20 + "</feed>")
    with pytest.raises(FatalError, match="malformed XML at line 3"):
        read_all(file_adapter(path))


def test_max_bytes_stops_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "<feed>" + "<rec><k>1</k><ts>1</ts></rec>" * 20_000 + "</feed>")
    adapter = file_adapter(path, max_bytes=100_000)
    with pytest.raises(FatalError, match=r"larger than max_bytes \(100000 bytes\)"):
        read_all(adapter)
    assert adapter.bytes_read <= 100_000 + 64 * 1024


def test_a_50k_record_file_streams_lazily(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<feed xmlns="urn:a">')
        for n in range(50_000):
            handle.write(f"<rec><k>{n}</k><ts>{n:08d}</ts><name>当事人{n}</name></rec>")
        handle.write("</feed>")
    adapter = file_adapter(path)
    records = adapter.read("penalty", {}, None)
    first = next(records)
    assert first.key == "0" and adapter.bytes_read < path.stat().st_size / 20  # before the file is read
    rest = sum(1 for _ in records)
    assert rest == 49_999 and adapter.bytes_read == path.stat().st_size


# -- handed-over files ------------------------------------------------------------------------------


def test_read_xml_file_detects_the_repeated_child_of_the_root(tmp_path: Path) -> None:
    rows = list(read_xml_file(write(tmp_path, DOC)))
    assert [row.get("k") for row in rows] == ["r1", "r2", "r4"]  # header skipped; r3 is another tag


def test_record_tag_can_be_given_for_sample_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_XML_RECORD_TAG", "header")
    assert list(read_xml_file(write(tmp_path, DOC))) == [{"sent": "2026-05-01"}]


def test_handover_reads_xml_samples(tmp_path: Path) -> None:
    records = list(read_template_file(write(tmp_path, DOC), "penalty"))
    assert [r.key for r in records] == ["feed.xml#1", "feed.xml#2", "feed.xml#3"]
    with pytest.raises(FatalError, match="declares entities"):
        list(read_template_file(write(tmp_path, BOMB, "bomb.xml"), "penalty"))


# -- over HTTP, against the ecology simulator ------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[RunningEcologyEnvironment]:
    with start_in_thread(token="test-token", seed=5, today=date(2026, 5, 10)) as running:
        yield running


def http_adapter(sim: RunningEcologyEnvironment, token: str | None = None,
                 **options: Any) -> XmlSourceAdapter:
    conn = Connection("ecology_environment_source", "http", sim.host, sim.port, password=token or sim.token)
    defaults = {"path": "/exchange/v1/penalties", "record_tag": "e:XZCF", "namespaces": {"e": NAMESPACE},
                "key_field": "CF_WSH", "cursor_field": "SJC", "cursor_param": "updated_since"}
    return XmlSourceAdapter("ecology_environment", {**defaults, **options}, conn,
                            retrying=default_retrying().copy(wait=wait_none()))


def test_http_feed_streams_every_record(sim: RunningEcologyEnvironment) -> None:
    records = read_all(http_adapter(sim))
    assert len(records) == 60 and sum(r.is_bad for r in records) == 1  # XZCF000019 has no CF_WSH
    first = records[0]
    assert first.data["CF_WSH"].startswith("济环长罚字〔2026〕")
    assert first.cursor == Cursor.parse(first.data["SJC"])


def test_http_cursor_goes_to_the_source_and_is_applied_again(sim: RunningEcologyEnvironment) -> None:
    stamps = sorted(str(r["SJC"]) for r in sim.store.records("penalty"))
    cursor = stamps[40]
    records = read_all(http_adapter(sim), cursor=cursor)
    start = Cursor.parse(cursor)
    assert len(records) == 20 and all(r.cursor is not None and r.cursor >= start for r in records)
    # without the parameter the source sends everything; the adapter still filters
    assert len(read_all(http_adapter(sim, cursor_param=None), cursor=cursor)) == 20


def test_http_errors_are_classified(sim: RunningEcologyEnvironment) -> None:
    with pytest.raises(FatalError, match="credentials refused"):
        read_all(http_adapter(sim, token="wrong"))
    sim.store.inject_fault("503", times=2)
    assert len(read_all(http_adapter(sim))) == 60  # retried without waiting
    sim.store.inject_fault("truncate")
    with pytest.raises(RetriableError, match="truncated"):
        read_all(http_adapter(sim))
    with pytest.raises(FatalError, match="over max_bytes"):  # Content-Length: refused before reading
        read_all(http_adapter(sim, max_bytes=1000))
    with pytest.raises(ConfigurationError, match="leaves the connection's host"):
        read_all(http_adapter(sim, path="//elsewhere.example/feed"))


def test_http_check(sim: RunningEcologyEnvironment) -> None:
    http_adapter(sim).check()
    with pytest.raises(FatalError, match="credentials refused"):
        http_adapter(sim, token="wrong").check()


def test_connection_drop_mid_body_is_retriable(sim: RunningEcologyEnvironment) -> None:
    class Dropping(requests.Session):
        def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                    **kwargs: Any) -> requests.Response:
            response = super().request(method, url, **kwargs)
            original, calls = response.raw.read1, []

            def broken(amt: int | None = None, decode_content: bool | None = None) -> bytes:
                calls.append(amt)
                if len(calls) > 1:
                    raise urllib3.exceptions.ProtocolError("connection reset")
                return original(200, decode_content=decode_content)

            response.raw.read1 = broken  # type: ignore[method-assign]
            return response

    adapter = http_adapter(sim)
    adapter._session = Dropping()
    with pytest.raises(RetriableError, match="connection broke"):
        read_all(adapter)


def test_dropped_xml_files_move_to_processed_after_the_cursor_commit(tmp_path: Path) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    for day in ("01", "02"):
        write(inbox, f"<feed><rec><k>{day}</k><ts>2026-05-{day}</ts></rec></feed>", f"export-{day}.xml")
    adapter = file_adapter(inbox / "export-*.xml")
    records = read_all(adapter)
    late = write(inbox, "<feed><rec><k>03</k><ts>2026-05-03</ts></rec></feed>", "export-03.xml")

    adapter.on_cursor_committed("penalty", {}, max_cursor(None, records) or "")

    assert sorted(p.name for p in (inbox / "processed").glob("*.xml")) == ["export-01.xml", "export-02.xml"]
    assert late.exists()  # dropped after the read: never moved unread
    assert [r.key for r in read_all(adapter)] == ["03"]  # the next run parses only what is new


def test_a_dropped_xml_file_read_past_the_committed_cursor_stays(tmp_path: Path) -> None:
    path = write(tmp_path, "<feed><rec><k>1</k><ts>2026-05-01</ts></rec>"
                           "<rec><k>2</k><ts>2026-05-09</ts></rec></feed>")
    adapter = file_adapter(path, processed=str(tmp_path / "done"))
    read_all(adapter)
    adapter.on_cursor_committed("penalty", {}, "2026-05-02")  # an older run's commit
    assert path.exists()
    adapter.on_cursor_committed("penalty", {}, "2026-05-09")
    assert not path.exists() and (tmp_path / "done" / "feed.xml").exists()


def test_a_dropped_xml_file_changed_after_it_was_read_stays(tmp_path: Path) -> None:
    path = write(tmp_path, "<feed><rec><k>1</k><ts>2026-05-01</ts></rec></feed>")
    adapter = file_adapter(path)
    read_all(adapter)
    write(tmp_path, "<feed><rec><k>1</k><ts>2026-05-01</ts></rec><rec><k>2</k><ts>2026-05-02</ts></rec>"
                    "</feed>")
    adapter.on_cursor_committed("penalty", {}, "2026-05-01")
    assert path.exists()
