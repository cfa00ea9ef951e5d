"""The impact pages for program admins: the cycles, a cycle's charts and tables by
country of the club, club or tier, its figures as CSV or XLSX, a printable cycle
report for donors, and a programme over time. The figures come suppressed from the
insights service; this module only words and draws them."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import impact
from gateway.base import Call, GatewayBase
from gateway.console.finance import download
from gateway.http import page
from gateway.i18n import gettext, label
from gateway.roles import ADMIN
from svyaz import tables
from svyaz.errors import NotFound

DIMENSIONS = ("country", "club", "tier")


class ImpactConsole(GatewayBase):
    def _clubs(self) -> dict[str, str]:
        try:
            listed = self.deadline(self.registry.list_clubs)
        except Exception:  # noqa: BLE001 - club names are a nicety; ids stand in
            return {}
        return {str(c["id"]): str(c["name"]) for c in listed}

    def _cycle(self, call: Call, cycle_id: str) -> dict[str, Any]:
        dimension = call.request.args.get("dimension", "country")
        if dimension not in DIMENSIONS:
            dimension = "country"
        view = self.deadline(
            self.insights.get_cycle_impact,
            call.actor,
            {"cycle_id": cycle_id, "dimension": dimension},
        )
        clubs = self._clubs() if dimension == "club" else {}
        lang = call.lang
        payouts = impact.decorate(
            lang, {"tables": [view["payouts"]["table"]], "dimension": ""}, {}
        )
        return {
            "view": view,
            "dimension": dimension,
            "dimensions": DIMENSIONS,
            "tables": impact.decorate(lang, view, clubs),
            "payouts": payouts[0],
            "money": view["money"],
            "sums": view["sums"],
            "mentions": view["mentions"],
            "hidden_word": gettext(lang, impact.HIDDEN),
            "footnote": gettext(lang, impact.FOOTNOTE).format(n=view["threshold"]),
            "clubs": clubs,
            "row_label": lambda code: impact.row_label(lang, dimension, code, clubs),
        }

    @page("GET", "/admin/impact", roles=(ADMIN,), template="admin_impact.html")
    def admin_impact(self, call: Call) -> dict[str, Any]:
        return {"cycles": self.deadline(self.insights.list_impact_cycles, call.actor)}

    @page(
        "GET",
        "/admin/impact/cycles/<cycle_id>",
        roles=(ADMIN,),
        template="admin_impact_cycle.html",
    )
    def admin_impact_cycle(self, call: Call, cycle_id: str) -> dict[str, Any]:
        return self._cycle(call, cycle_id)

    @page(
        "GET",
        "/admin/impact/cycles/<cycle_id>/report",
        roles=(ADMIN,),
        template="admin_impact_report.html",
    )
    def admin_impact_report(self, call: Call, cycle_id: str) -> dict[str, Any]:
        """The cycle on one printable page, for donors: charts, tables, the rule."""
        return self._cycle(call, cycle_id)

    @page("GET", "/admin/impact/cycles/<cycle_id>/figures.<kind>", roles=(ADMIN,))
    def admin_impact_download(self, call: Call, cycle_id: str, kind: str) -> Response:
        if kind not in tables.FORMATS:
            raise NotFound("no such download", "not_found")
        shown = self._cycle(call, cycle_id)
        view, lang = shown["view"], call.lang
        columns = [
            gettext(lang, impact.FIGURE),
            label(lang, "impact_dimension", shown["dimension"]),
            gettext(lang, impact.COLUMN),
            gettext(lang, impact.VALUE),
        ]
        rows = list(impact.figures_rows(lang, view, shown["clubs"]))
        body = tables.render(kind, view["cycle"]["period"], columns, rows)
        return download(
            body, tables.MIME[kind], f"impact-{view['cycle']['period']}.{kind}"
        )

    @page(
        "GET",
        "/admin/impact/programmes/<programme_id>",
        roles=(ADMIN,),
        template="admin_impact_programme.html",
    )
    def admin_impact_programme(self, call: Call, programme_id: str) -> dict[str, Any]:
        view = self.deadline(
            self.insights.get_programme_impact,
            call.actor,
            {"programme_id": programme_id},
        )
        lang = call.lang
        return {
            "view": view,
            "tables": impact.decorate(lang, view, {}),
            "payouts": impact.decorate(
                lang, {"tables": [view["payouts"]["table"]], "dimension": ""}, {}
            )[0],
            "differences": impact.decorate(
                lang, {"tables": [view["differences"]["table"]], "dimension": ""}, {}
            )[0],
            "durations": view["differences"]["durations"],
            "hidden_word": gettext(lang, impact.HIDDEN),
            "footnote": gettext(lang, impact.FOOTNOTE).format(n=view["threshold"]),
        }
