"""Fixtures of the rules tests: a real store holding one campaign `camp`."""
import pytest

from dialer import config, store


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
