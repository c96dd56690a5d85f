"""The pages' Jinja2 templates, kept in Python so they ship with the package like any module.

Rendered with autoescape on: every value from the store or a query string is escaped. The pages need
no script to work (the Airflow UI frames them); the one script only lets links to Airflow's own pages
open in the whole window instead of inside the frame.
"""

BASE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · CreditSync</title>
<style>
:root { color-scheme: light dark; --fg: #1a202c; --muted: #64748b; --line: #e2e8f0; --bg: #fff;
  --head: #f8fafc; --ok: #15803d; --warn: #b45309; --bad: #b91c1c; --link: #0369a1; }
@media (prefers-color-scheme: dark) { :root { --fg: #e2e8f0; --muted: #94a3b8; --line: #334155;
  --bg: #0f172a; --head: #1e293b; --ok: #4ade80; --warn: #fbbf24; --bad: #f87171; --link: #7dd3fc; } }
body { margin: 0; padding: 16px 20px; background: var(--bg); color: var(--fg); font: 14px/1.5
  system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
small, .en { color: var(--muted); font-size: 11px; font-weight: normal; }
th small { display: block; }
a { color: var(--link); text-decoration: none; } a:hover { text-decoration: underline; }
nav { display: flex; gap: 16px; margin: 8px 0 16px; padding-bottom: 8px;
  border-bottom: 1px solid var(--line); }
nav a.here { font-weight: 600; color: var(--fg); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; }
.zero { color: var(--muted); }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
span.id { font-size: 11px; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
td.details { min-width: 340px; max-width: 560px; overflow-wrap: anywhere; }
td.id { max-width: 210px; word-break: break-all; font-size: 11px; }
.when { white-space: nowrap; }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin: 12px 0; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; gap: 2px; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px;
  background: var(--bg); color: var(--fg); }
button { cursor: pointer; background: var(--head); }
</style></head>
<body>
<nav>
  <a href="{{ base }}/" class="{{ 'here' if page == 'status' }}">
    数据同步状态 <small>Gateway status</small></a>
  <a href="{{ base }}/audit" class="{{ 'here' if page == 'audit' }}">
    审计日志 <small>Audit log</small></a>
  <a href="{{ json_url }}">JSON</a>
</nav>
{% block content %}{% endblock %}
<script>
// Framed by the Airflow UI (sandboxed: no top navigation), a link to an Airflow page would open the
// whole UI inside the frame. Clicking an anchor of the parent document navigates the parent instead.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-airflow]");
  if (!link || window.top === window || event.ctrlKey || event.metaKey || event.shiftKey) return;
  try {
    var top = window.top.document, anchor = top.createElement("a");
    anchor.href = link.href; top.body.appendChild(anchor); anchor.click(); anchor.remove();
    event.preventDefault();
  } catch (e) { /* a cross-origin parent: the link opens in the frame */ }
});
</script>
</body></html>
"""

STATUS = """{% extends "base" %}
{% block title %}数据同步状态{% endblock %}
{% block content %}
<h1>数据同步状态 <small>Gateway status</small></h1>
<div><small>生成于 generated at {{ generated_at|when }} · 时间为 UTC times in UTC</small></div>
{% for problem in problems %}
<div class="panel bad">配置错误 <small>configuration error</small>: {{ problem }}</div>
{% endfor %}
<h2>各部门记录 <small>Records per department</small></h2>
<table>
<tr><th>部门<small>department</small></th>
{% for state in states %}
<th class="n">{{ labels.RECORD_STATES.get(state, state) }}<small>{{ state }}</small></th>
{% endfor %}
<th class="n">待推送<small>outbox pending</small></th><th>最早待推送<small>oldest pending</small></th>
<th class="n">隔离中<small>open quarantine</small></th><th>最近运行<small>last run</small></th></tr>
{% for d in departments %}
<tr>
<td><b>{{ d.name or d.department }}</b><br><span class="mono">{{ d.department }}</span>
  {% if d.configured %}<br><small>DAG</small>
  <a data-airflow href="{{ airflow_base }}/dags/{{ d.dag_id }}">{{ d.dag_id }}</a>
  {% else %}<br><small>未配置 not configured</small>{% endif %}</td>
{% for state in states %}{% set n = d.records.get(state, 0) %}
<td class="n {{ 'zero' if not n }}">{{ n }}</td>{% endfor %}
<td class="n {{ 'warn' if d.outbox_pending else 'zero' }}">{{ d.outbox_pending }}</td>
<td>{% if d.outbox_oldest_pending_at %}{% set a = age(d.outbox_oldest_pending_age_s) %}
  {{ a[0] }} <small>{{ a[1] }}</small><br><small class="when">{{ d.outbox_oldest_pending_at|when }}</small>
  {% else %}<span class="zero">–</span>{% endif %}</td>
<td class="n {{ 'warn' if d.quarantine_open else 'zero' }}">{{ d.quarantine_open }}</td>
<td>{% if d.last_run %}{% set r = d.last_run %}
  <span class="{{ run_class.get(r.status, '') }}">{{ labels.RUN_STATUSES.get(r.status, r.status) }}</span>
  <small>{{ r.status }}</small><br>
  <small class="when">{{ r.finished_at|when if r.finished_at else '未结束 not finished' }}</small>
  <br><span class="mono id">{{ r.id }}</span>
  {% else %}<span class="zero">尚未运行 <small>never run</small></span>{% endif %}</td>
</tr>
{% else %}
<tr><td colspan="{{ states|length + 5 }}">没有配置部门 <small>no departments configured</small></td></tr>
{% endfor %}
</table>
<h2>增量游标 <small>Cursors per stream</small></h2>
<table>
<tr><th>部门<small>department</small></th><th>类别<small>category</small></th>
<th>游标值<small>cursor value</small></th><th>更新时间<small>updated at</small></th></tr>
{% for d in departments %}{% for category, cursor in d.cursors.items() %}
<tr><td>{{ d.name or d.department }}</td>
<td>{{ categories.get(category, category) }} <small>{{ category }}</small></td>
<td class="mono">{{ cursor.value if cursor.value is not none else '–' }}</td>
<td><small class="when">{{ cursor.updated_at|when if cursor.updated_at else '–' }}</small></td></tr>
{% endfor %}{% endfor %}
</table>
{% endblock %}
"""

AUDIT = """{% extends "base" %}
{% block title %}审计日志{% endblock %}
{% block content %}
<h1>审计日志 <small>Audit log</small></h1>
<div><small>最新 {{ limit }} 条，时间为 UTC · latest {{ limit }} entries, times in UTC</small></div>
<form class="filters" method="get" action="{{ base }}/audit">
  <label>部门 <small>department</small><select name="department">
  <option value="">全部 all</option>
  {% for name, title in department_choices %}
  <option value="{{ name }}" {{ 'selected' if name == filters.department }}>{{ title }}</option>
  {% endfor %}
  </select></label>
  <label>事件 <small>event</small>
  <input name="event" list="events" value="{{ filters.event or '' }}" placeholder="push_receipt"></label>
  <datalist id="events">{% for e in events %}
  <option value="{{ e }}">{{ labels.EVENTS.get(e, '') }}</option>{% endfor %}</datalist>
  <label>起始日期 <small>since (UTC)</small>
  <input type="date" name="since" value="{{ filters.since or '' }}"></label>
  <button type="submit">筛选 <small>Filter</small></button>
  <button type="submit" name="verify" value="1">校验审计链 <small>Verify chain</small></button>
</form>
<div class="panel">审计链 <small>hash chain</small>:
{% if chain is none %}<span class="zero">未校验 <small>not checked; the check reads every entry</small></span>
{% elif chain.ok %}<b class="ok">完整 <small>intact</small></b> · {{ chain.checked }} 条已校验
  <small>entries verified in {{ chain.seconds }} s, {{ chain.checked_at|when }}</small>
{% else %}<b class="bad">已损坏 <small>broken</small></b> ·
  条目 <small>entry</small> {{ chain.entry_id }}: {{ chain.problem }}
  <small>({{ chain.checked }} entries verified before it, {{ chain.checked_at|when }})</small>{% endif %}
</div>
<table>
<tr><th class="n">#</th><th>时间<small>time</small></th><th>事件<small>event</small></th>
<th>部门<small>department</small></th>
<th>类别<small>category</small></th><th>业务键<small>business key</small></th><th>运行<small>run</small></th>
<th>详情<small>details</small></th><th>操作者<small>actor</small></th></tr>
{% for e in entries %}
<tr><td class="n mono">{{ e.id }}</td><td class="when"><small>{{ e.ts|when }}</small></td>
<td>{{ labels.EVENTS.get(e.event, '') }} <small>{{ e.event }}</small></td>
<td>{{ department_names.get(e.department, e.department or '') }}</td>
<td>{{ categories.get(e.category, e.category or '') }}</td>
<td class="mono id">{{ e.business_key or '' }}</td><td class="mono id">{{ e.run_id or '' }}</td>
<td class="mono details">{{ e.details_text }}</td><td><small>{{ e.actor }}</small></td></tr>
{% else %}<tr><td colspan="9">没有符合条件的条目 <small>no entries match</small></td></tr>
{% endfor %}
</table>
{% endblock %}
"""

ERROR = """{% extends "base" %}
{% block title %}{{ title_zh }}{% endblock %}
{% block content %}
<h1>{{ title_zh }} <small>{{ title_en }}</small></h1>
<div class="panel">{{ message }}</div>
{% if login_url %}
<p><a data-airflow href="{{ login_url }}">登录 Airflow <small>sign in</small></a></p>
{% endif %}
{% endblock %}
"""

TEMPLATES = {"base": BASE, "status": STATUS, "audit": AUDIT, "error": ERROR}
