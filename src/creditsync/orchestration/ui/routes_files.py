"""Downloads: the audit trail's filtered set (CSV streamed, XLSX written while read), a department's
quarantine as the rejection report, and the chart library, served by the gateway itself."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.exceptions import HTTPException

from creditsync.orchestration.ui import audit_queries, export
from creditsync.orchestration.ui.routes_common import audit_filter
from creditsync.orchestration.ui.security import READ_ACCESS
from creditsync.orchestration.ui.store import configured_departments, gateway_store
from creditsync.quarantine import Describer, write_report
from creditsync.settings import load_settings

STATIC = Path(__file__).parent / "static"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AuditFilterDep = Annotated[audit_queries.AuditFilter, Depends(audit_filter)]

files = APIRouter(dependencies=[READ_ACCESS])


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)


@files.get("/audit/export.csv", summary="The filtered audit entries as CSV (UTF-8 with BOM), streamed")
def audit_csv(filters: AuditFilterDep) -> StreamingResponse:
    rows = audit_queries.export_rows(gateway_store(), filters)
    return StreamingResponse(export.csv_chunks(rows), media_type="text/csv; charset=utf-8",
                             headers=_attachment(f"creditsync-audit-{_stamp()}.csv"))


@files.get("/audit/export.xlsx", summary="The filtered audit entries as XLSX")
def audit_xlsx(filters: AuditFilterDep, cleanup: BackgroundTasks) -> FileResponse:
    path = export.write_xlsx(audit_queries.export_rows(gateway_store(), filters))
    cleanup.add_task(_delete, path)
    return FileResponse(path, media_type=XLSX, headers=_attachment(f"creditsync-audit-{_stamp()}.xlsx"))


@files.get("/quarantine/report.xlsx", summary="A department's rejection report (退回更正报告)")
def quarantine_report(department: Annotated[str, Query(max_length=64)], cleanup: BackgroundTasks,
                      include_resolved: bool = False) -> FileResponse:
    names = {c.department: c.name for c in configured_departments()[0]}
    if department not in names:
        raise HTTPException(404, f"department {department!r} is not configured 部门未配置")
    handle = tempfile.NamedTemporaryFile(prefix="creditsync-quarantine-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    with gateway_store().reader() as session:
        write_report(session, department, names[department], path, describer=Describer(load_settings()),
                     include_resolved=include_resolved)
    cleanup.add_task(_delete, path)
    return FileResponse(path, media_type=XLSX,
                        headers=_attachment(f"{names[department]}-退回更正报告-{_stamp()}.xlsx"))


@files.get("/static/echarts.min.js", summary="Apache ECharts, fetched from npm at install")
def echarts() -> FileResponse:
    path = STATIC / "echarts.min.js"
    if not path.exists():
        raise HTTPException(404, "the chart library is not installed (make install) 图表库未安装")
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "private, max-age=86400"})
