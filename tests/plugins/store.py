"""Store fixtures: a Store on the parametrised backend with an empty database."""
import pytest

from dialer import config, store as store_mod
from tests.conftest import general_section


def general_for(backend, tmp_path, mysql=None, **keys) -> config.General:
    """The [general] of a dialer.conf for open_store, through the config loader; `keys` are more
    [general] keys (without `mysql`, a MariaDB at 127.0.0.1:3306 as root)."""
    mysql = mysql or {"host": "127.0.0.1", "port": 3306, "user": "root", "password": "", "database": "dialer"}
    return config.loads(general_section(backend, tmp_path, mysql, extra=keys), source="test.conf").general


@pytest.fixture
def store_general(backend, tmp_path, request):
    mysql = request.getfixturevalue("mysql_db") if backend == "mysql" else None
    g = general_for(backend, tmp_path, mysql)
    st = store_mod.open_store(g)
    st.create_database()
    st.close()
    return g


@pytest.fixture
def store(store_general):
    """An open Store with the database and a campaign `camp` created."""
    st = store_mod.open_store(store_general)
    st.create_campaign("camp")
    yield st
    st.close()
