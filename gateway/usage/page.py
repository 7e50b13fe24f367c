"""The usage page: server-rendered HTML with inline CSS, no script, nothing fetched from
elsewhere. Pure: the reports and ``now`` in, the document out. Every text from config or
requests (app names, member URNs, reasons, resources) is HTML-escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from gateway.usage.learned import REASONS
from gateway.usage.report import AppUsage, BucketView

REFRESH_SECONDS = 15
MEMBERS_ON_PAGE = 50

CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2226;
background:#f3f2ef}
h1{font-size:20px;margin:0 0 4px}
.as-of{color:#666;margin:0 0 16px}
section.app{background:#fff;border-radius:8px;padding:16px 20px;margin:0 0 16px;
box-shadow:0 0 0 1px #e0dfdc}
h2{font-size:17px;margin:0 0 8px}
h3{font-size:14px;margin:14px 0 6px;color:#444}
.badge{font-size:11px;border-radius:10px;padding:2px 8px;margin-left:8px;vertical-align:2px;
background:#e8f3ff;color:#0a66c2}
.badge.shadow{background:#fff4d6;color:#8a5a00}
table{border-collapse:collapse;width:100%;table-layout:fixed}
th:nth-child(1){width:11%}th:nth-child(2){width:22%}th:nth-child(3){width:22%}
th:nth-child(4),th:nth-child(5){width:9%}th:nth-child(6){width:12%}th:nth-child(7){width:15%}
td,th{padding:4px 8px;text-align:left;border-bottom:1px solid #eee;white-space:nowrap;
overflow:hidden;text-overflow:ellipsis}
th.num{text-align:right}
th{font-weight:600;color:#555;font-size:12px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{width:100%;height:12px;background:#eef3f8;border-radius:6px;overflow:hidden}
.fill{height:100%;background:#057642}
.fill.warn{background:#e7a33e}.fill.full{background:#cc1016}
.none{color:#888}
ul{margin:0;padding-left:18px}
.expired{color:#cc1016;font-weight:600}
"""


def render_page(reports: Sequence[AppUsage], now: float) -> str:
    moment = datetime.fromtimestamp(now, tz=UTC)
    sections = "\n".join(_app_section(r) for r in reports) or '<p class="none">No apps.</p>'
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
        "<title>linkedin-gateway usage</title>"
        f"<style>{CSS}</style></head><body>\n"
        "<h1>linkedin-gateway usage</h1>"
        f'<p class="as-of" id="as-of">{moment:%Y-%m-%d %H:%M:%S} UTC &middot; '
        "counters reset at 00:00 UTC &middot; "
        f"refreshes every {REFRESH_SECONDS} s</p>\n"
        f"{sections}\n</body></html>\n"
    )


def _app_section(report: AppUsage) -> str:
    app = escape(report.app)
    badge = (
        '<span class="badge shadow">shadow: nothing refused</span>'
        if report.mode == "shadow"
        else '<span class="badge">enforce</span>'
    )
    parts = [
        f'<section class="app" data-app="{app}"><h2>{app}{badge}</h2>',
        "<h3>App buckets</h3>",
        _bucket_table(report.app_buckets, report.app),
        f'<h3>Members today <span class="members-total">{report.members_total}</span></h3>',
    ]
    if report.members:
        shown = report.members[:MEMBERS_ON_PAGE]
        parts.append(_bucket_table(shown, report.app))
        if len(report.members) > len(shown):
            parts.append(
                f'<p class="none">{len(report.members) - len(shown)} more: see /usage/{app}</p>'
            )
    else:
        parts.append('<p class="none">No member calls today.</p>')
    parts.append("<h3>Refused today</h3>")
    parts.append(_counts(report.refusals, "refusal", "Nothing refused today."))
    if report.mode == "shadow" or report.shadow_refusals:
        parts.append("<h3>Would have refused (shadow)</h3>")
        parts.append(_counts(report.shadow_refusals, "shadow", "Nothing would have been."))
    parts.append("<h3>Limits learned from LinkedIn</h3>")
    parts.append(_learned(report))
    parts.append("<h3>Development windows</h3>")
    parts.append(_windows(report))
    parts.append("</section>")
    return "\n".join(parts)


def _bucket_table(views: Sequence[BucketView], app: str) -> str:
    rows = [
        "<table><tr><th>bucket</th><th>member</th><th>used of limit</th><th class=num>used</th>"
        "<th class=num>limit</th><th class=num>remaining</th><th class=num>resets in</th></tr>"
    ]
    for view in views:
        member = escape(view.member or "")
        limit = "&ndash;" if view.limit is None else str(view.limit)
        remaining = "no limit" if view.remaining is None else str(view.remaining)
        rows.append(
            f'<tr class="bucket" data-app="{escape(app)}" data-bucket="{escape(view.name)}" '
            f'data-member="{member}"><td>{escape(view.name)}</td><td>{member}</td>'
            f"<td>{_bar(view)}</td>"
            f'<td class="num used">{view.used}</td><td class="num limit">{limit}</td>'
            f'<td class="num remaining">{remaining}</td>'
            f'<td class="num reset" data-seconds="{view.reset_in}">'
            f"{_duration(view.reset_in)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _bar(view: BucketView) -> str:
    percent = view.percent
    if percent is None:
        return '<div class="bar" title="no limit"></div>'
    kind = "full" if percent >= 90 else "warn" if percent >= 75 else "ok"
    width = min(percent, 100.0)
    return (
        f'<div class="bar" title="{percent:.0f} % used">'
        f'<div class="fill {kind}" style="width:{width:.1f}%"></div></div>'
    )


def _list(items: list[str], empty: str) -> str:
    """``items`` (``<li>`` elements) as a list, or the sentence ``empty`` when there are none."""
    if not items:
        return f'<p class="none">{escape(empty)}</p>'
    return f"<ul>{''.join(items)}</ul>"


def _counts(counts: dict[str, int], kind: str, empty: str) -> str:
    items = [
        f'<li class="{kind}" data-reason="{escape(reason)}"><code>{escape(reason)}</code> '
        f'<span class="count">{count}</span></li>'
        for reason, count in counts.items()
    ]
    return _list(items, empty)


def _learned(report: AppUsage) -> str:
    items = []
    for mark in report.learned:
        learned_at = datetime.fromtimestamp(mark.learned_at, tz=UTC)
        who = f" member {escape(mark.member)}" if mark.member else ""
        items.append(
            f'<li class="learned" data-reason="{REASONS[mark.counter]}">'
            f"<code>{escape(mark.resource)}</code>: {escape(mark.counter)} DAY{who}, "
            f"since {learned_at:%H:%M:%S} UTC, answered by the gateway until 00:00 UTC</li>"
        )
    return _list(items, "LinkedIn has not throttled this app today.")


def _windows(report: AppUsage) -> str:
    items = []
    for window in report.development:
        state = (
            '<span class="expired">ended</span>'
            if window.expired
            else f"ends in {window.days_left} days"
        )
        items.append(
            f'<li class="window" data-product="{escape(window.product)}">'
            f"{escape(window.tier)} (<code>{escape(window.product)}</code>), since "
            f'{window.since.isoformat()}: <span class="ends">{window.ends.isoformat()}</span> '
            f"({state})</li>"
        )
    return _list(items, "No Development-tier product with a start date.")


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds % 60:02d} s"
