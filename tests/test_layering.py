"""The README's layering rules, held by reading every import under bot/.

The rules keep arrows pointing one way: a channel can be added without
touching a journey, the safety screen can be trusted on its own, and the
dashboard cannot reach a person's conversation machinery. Imports are read
with `ast` (those under TYPE_CHECKING and inside functions count too), so a
rule broken only on one code path is still caught.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
README = (ROOT / "README.md").read_text(encoding="utf-8")

# (layer, layers it must never import, the README sentence that states the rule)
RULES: list[tuple[str, set[str], str]] = [
    ("flows", {"channels"}, "Flows never import channels, and channels never import flows."),
    ("channels", {"flows"}, "Flows never import channels, and channels never import flows."),
    (
        "flows",
        {"storage", "dashboard", "web"},
        "Flows never import storage, the dashboard or the web app.",
    ),
    (
        "safety",
        {"flows", "channels", "storage", "dashboard", "engine"},
        "The safety screen never imports flows, channels, storage, the dashboard or the engine.",
    ),
    ("dashboard", {"flows", "channels"}, "The dashboard never imports flows or channels."),
    ("engine", {"channels", "dashboard"}, "The engine never imports channels or the dashboard."),
    (
        "storage",
        {"flows", "channels", "dashboard", "engine", "web"},
        "Storage never imports flows, channels, the dashboard, the engine or the web app.",
    ),
]


# Who may import the dashboard from outside it (and the web app that mounts it):
# file -> the dashboard modules it may use, each pinned so no new arrow creeps in.
DASHBOARD_SENTENCE = (
    "Nothing outside the dashboard and the web app imports the dashboard, except the"
    " command line and the worker."
)
DASHBOARD_IMPORTERS: dict[str, set[str]] = {
    # The command line runs the staff-account and figures commands the dashboard owns;
    # like the web app it is a top-level entry point.
    "bot/cli.py": {"bot.dashboard", "bot.dashboard.admin", "bot.dashboard.figures_cli"},
    # The worker process runs the dashboard's housekeeping on a timer: releasing idle
    # claims and forgetting stale staff sessions.
    "bot/worker.py": {"bot.dashboard.claims", "bot.dashboard.sessions"},
    # The engine is not here: the staff notices it queues live in bot/notices.py and the
    # audit row of a code-word lock-out is written by bot/storage/audit.py.
}


def _module_name(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).with_suffix("").parts)


def imported_modules(source: str, module: list[str]) -> set[str]:
    """Every `bot.*` module a file's source imports, relative imports resolved.

    `module` is the file's dotted name split ("bot", "flows", "__init__" for a package).
    """
    tree = ast.parse(source)
    package = module[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            # `from bot import flows` imports the package bot.flows.
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "bot" or name.startswith("bot.")}


def layer_of(module: str) -> str:
    """bot.flows.callback -> flows; bot.engine -> engine."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def files_of(layer: str) -> list[Path]:
    package = BOT / layer
    if package.is_dir():
        return sorted(p for p in package.rglob("*.py") if "migrations" not in p.parts)
    return [BOT / f"{layer}.py"]


def breaches(layer: str, forbidden: set[str]) -> list[str]:
    out = []
    for path in files_of(layer):
        source = path.read_text(encoding="utf-8")
        for module in sorted(imported_modules(source, _module_name(path))):
            if layer_of(module) in forbidden:
                out.append(f"{path.relative_to(ROOT)} imports {module}")
    return out


@pytest.mark.parametrize(("layer", "forbidden", "sentence"), RULES, ids=[r[2] for r in RULES])
def test_rule_holds(layer: str, forbidden: set[str], sentence: str) -> None:
    assert files_of(layer), f"bot/{layer} has no Python files: is the rule still right?"
    found = breaches(layer, forbidden)
    assert not found, f"README: {sentence!r} is broken:\n" + "\n".join(found)


def test_only_the_named_modules_import_the_dashboard() -> None:
    """The worker, the outbox and the channels read safe windows from bot/windows.py,
    not the dashboard's copy; a new importer must be named above, with its reason."""
    found = []
    for path in sorted(BOT.rglob("*.py")):
        if "migrations" in path.parts or layer_of(".".join(_module_name(path))) in (
            "dashboard",
            "web",
        ):
            continue
        name = str(path.relative_to(ROOT))
        allowed = DASHBOARD_IMPORTERS.get(name, set())
        source = path.read_text(encoding="utf-8")
        for module in sorted(imported_modules(source, _module_name(path))):
            named = any(  # `from bot.dashboard.x import y` also reads as bot.dashboard.x.y
                module == a or (a != "bot.dashboard" and module.startswith(f"{a}."))
                for a in allowed
            )
            if layer_of(module) == "dashboard" and not named:
                found.append(f"{name} imports {module}")
    assert not found, f"README: {DASHBOARD_SENTENCE!r} is broken:\n" + "\n".join(found)
    assert f"- {DASHBOARD_SENTENCE}" in README


@pytest.mark.parametrize("sentence", sorted({r[2] for r in RULES}))
def test_rule_is_written_in_the_readme(sentence: str) -> None:
    """The test and the README say the same rules: change both or neither."""
    assert f"- {sentence}" in README


def test_the_reader_sees_every_kind_of_import() -> None:
    """A positive control: each way of importing a forbidden layer is found."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import bot.channels.render\n"
        "from bot import storage\n"
        "from ..dashboard import queue\n"
        "from . import callback\n"
        "if TYPE_CHECKING:\n"
        "    from bot.web.app import create_app\n"
        "def later():\n"
        "    from bot.engine import Engine\n"
    )
    found = imported_modules(source, ["bot", "flows", "probe"])
    assert {"bot.channels.render", "bot.storage", "bot.dashboard.queue"} <= found
    assert {"bot.flows.callback", "bot.web.app", "bot.engine"} <= found
    assert {layer_of(m) for m in found} >= {"channels", "storage", "dashboard", "web", "engine"}
