"""Fixtures of the rules tests: campaign settings through the config loader, and a real store
holding one campaign `camp`."""
import pytest

from dialer import config, store


def campaign(**keys) -> config.Campaign:
    """The Campaign that a dialer.conf section with these keys loads as (None: key not written,
    booleans as true/false); uri is set so that the default mode is complete."""
    def spell(value):
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    lines = "".join(f"{key}={spell(value)}\n" for key, value in {"uri": "http://x/", **keys}.items()
                    if value is not None)
    return config.loads("[c]\n" + lines, source="test.conf").campaigns["c"]


@pytest.fixture
def camp_store(dialer_conf):
    """camp_store(campaign_keys) -> (campaign settings, Store) with an empty campaign `camp`
    on the parametrised backend; the store is closed afterwards."""
    opened = []

    def make(keys):
        conf = dialer_conf("[default]\nuri=http://x/\n[camp]\n" + keys)
        cfg = config.load(str(conf))
        st = store.open_store(cfg.general)
        opened.append(st)
        st.create_database()
        st.create_campaign("camp")
        return cfg.campaigns["camp"], st

    yield make
    for st in opened:
        st.close()
