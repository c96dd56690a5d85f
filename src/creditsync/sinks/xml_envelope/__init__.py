"""The XML envelope sink: :mod:`.envelope` (the message, its ack, the XSD) and :mod:`.sink`."""

from creditsync.sinks.xml_envelope.sink import XmlFolderSink, XmlHttpSink, build_xml_sink

__all__ = ["XmlFolderSink", "XmlHttpSink", "build_xml_sink"]
