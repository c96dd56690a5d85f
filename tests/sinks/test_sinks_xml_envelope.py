"""The xml_envelope sink: to a folder (atomic files, acks read back) and POSTed, against its simulator;
every envelope and ack valid against exchange_message.xsd."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sinks_support import penalty

from creditsync.simulators.envelope import EnvelopeFolderSimulator, EnvelopeServer
from creditsync.simulators.platform import PlatformSimulator
from creditsync.sinks.base import PushItem
from creditsync.sinks.xml_envelope import XmlFolderSink, XmlHttpSink
from creditsync.sinks.xml_envelope.envelope import EnvelopeError, Header, build, parse, parse_ack, schema


def item(n: int, **data: str) -> PushItem:
    return PushItem(f"k{n:05d}", f"penalty:x:{n}", "upsert", {**penalty(n), **data})


def test_an_envelope_carries_header_and_standard_codes_and_follows_the_xsd() -> None:
    header = Header("长清区市场监督管理局", "济南市公共信用信息平台", "run#1", "张三", "penalty")
    raw = build(item(1), header, 1)
    root = etree.fromstring(raw)
    assert schema().validate(root)
    message = parse(raw)
    assert (message.item_id, message.category, message.flow_id) == ("k00001", "penalty", "run#1")
    assert message.data["CF_WSH"] == "长市监罚〔2026〕1号"
    with pytest.raises(EnvelopeError):
        parse(raw.replace(b"<SerialNo>1</SerialNo>", b"<SerialNo>first</SerialNo>"))
    with pytest.raises(EnvelopeError):
        parse_ack(b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>")


def test_the_folder_round_trip_writes_each_key_once_and_reads_the_acks(tmp_path: Path) -> None:
    sink = XmlFolderSink(tmp_path, sender="长清区市场监督管理局")
    sim = EnvelopeFolderSimulator(tmp_path, PlatformSimulator())
    items = [item(1), item(2), item(3, CF_CFJGDM="123")]
    assert sink.push("penalty", items, "b1") == []
    written = sorted(p.name for p in (tmp_path / "outgoing").iterdir())
    assert written == ["k00001.xml", "k00002.xml", "k00003.xml"]
    assert sim.run_once() == 3
    assert sink.push("penalty", items, "b2") != []  # the answers, nothing written again
    assert not list((tmp_path / "outgoing").iterdir())
    answers = sink.query("penalty", ["k00001", "k00002", "k00003"])
    assert answers["k00001"].confirmed and answers["k00001"].platform_id
    assert answers["k00003"].status == "rejected" and answers["k00003"].errors
    assert sim.platform.stats()["records"] == 2
    sink.push("penalty", [item(4)], "b3")
    assert sink.retract("penalty", ["k00004", "k00001", "never"]) == {"k00004", "never"}
    assert sim.run_once() == 0


def test_posted_envelopes_are_answered_and_asked_back(tmp_path: Path) -> None:
    platform = PlatformSimulator()
    server = EnvelopeServer(("127.0.0.1", 0), platform)
    import threading

    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        sink = XmlHttpSink(f"http://127.0.0.1:{server.server_address[1]}", sender="长清区")
        receipts = sink.push("penalty", [item(1), item(2)], "b1")
        assert [r.status for r in receipts] == ["accepted", "accepted"]
        again = sink.push("penalty", [item(1)], "b2")
        assert again[0].platform_id == receipts[0].platform_id  # the same key: the same row
        assert sink.query("penalty", ["k00002", "unknown"]).keys() == {"k00002"}
        assert platform.stats()["records"] == 2
    finally:
        server.shutdown()
        server.server_close()


def test_the_platform_job_takes_more_envelopes_than_its_batch_limit(tmp_path: Path) -> None:
    sink = XmlFolderSink(tmp_path, sender="长清区")
    sim = EnvelopeFolderSimulator(tmp_path, PlatformSimulator(max_batch=2))
    sink.push("penalty", [item(n) for n in range(1, 6)], "b1")
    assert sim.run_once() == 5
    assert all(r.confirmed for r in sink.query("penalty", [f"k{n:05d}" for n in range(1, 6)]).values())
    assert sim.platform.stats()["records"] == 5
