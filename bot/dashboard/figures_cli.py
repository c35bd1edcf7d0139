"""`frontdoor figures`: the same suppressed tables as the Figures page, for a
report or a spreadsheet, from the command line (no personal data is read)."""

from __future__ import annotations

import json
import sys

from bot.content.model import load_content
from bot.dashboard import figures_report as fr
from bot.dashboard import present
from bot.dashboard.figures import to_csv
from bot.settings import Settings
from bot.storage.db import Database


def run(settings: Settings, period: str, area: str, form: str) -> int:
    try:
        chosen = fr.parse_period(period)
    except fr.BadPeriod:
        print(
            "frontdoor figures: write the period as a year (2026), a quarter (2026-Q3) "
            "or a month (2026-07)",
            file=sys.stderr,
        )
        return 2
    db = Database(settings.sqlalchemy_url, settings.db_timeout_seconds)
    try:
        with db.session() as session:
            report = fr.build(session, chosen, area)
            session.commit()
    finally:
        db.dispose()
    if form == "json":
        print(json.dumps(fr.as_json(report), indent=2))
        return 0
    areas = present.area_names(load_content(settings.content_dir, settings.locales_dir).data)
    sys.stdout.write(to_csv(report, areas))
    return 0
