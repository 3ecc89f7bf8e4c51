"""The dialing engine (see core.py for the loop and the parts it is made of)."""
from .core import Engine
from .state import CampaignState, Control, DbState, LinkState, RunState

__all__ = ["CampaignState", "Control", "DbState", "Engine", "LinkState", "RunState"]
