"""The upload-template sink: :mod:`.workbook` (the national templates) and :mod:`.sink`."""

from creditsync.sinks.template_file.sink import TemplateFileSink

__all__ = ["TemplateFileSink"]
