"""A child's or young person's age, kept for every flow that must know it.

The contract with the callback flow: `d.slots["age_group"]` is "under_16" or
"16_17". Under 16: Childline, 999 and a trusted adult, and the children's
menu (no adult callback). 16 and 17: adult services may call, so the person's
callback route is their own ("me").
"""

from __future__ import annotations

from bot.dialogue import Dialogue

UNDER_16 = "under_16"
AGED_16_17 = "16_17"
# option id -> the age group kept in the slot
AGE_GROUPS = {"under_16": UNDER_16, "aged_16_17": AGED_16_17}
# option id -> where the person goes next
AGE_ROUTES = {"under_16": "@info:young.under_16", "aged_16_17": "@info:young.aged_16_17"}
# an under-16's main menu is the children's menu, menus.young
AUDIENCE_FOR = {UNDER_16: "young", AGED_16_17: "me"}


def keep_age(d: Dialogue, option: str) -> None:
    """Keep the age group the person chose, and the menu that fits it."""
    group = AGE_GROUPS.get(option)
    if group is None:
        return
    d.slots["age_group"] = group
    d.slots["audience"] = AUDIENCE_FOR[group]
