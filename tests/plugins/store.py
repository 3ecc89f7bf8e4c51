"""Store fixtures: a Store on the parametrised backend with an empty database."""
import types

import pytest

from dialer import store as store_mod


def general_for(backend, tmp_path, mysql=None):
    """A [general]-like object for open_store (the attribute names of config.General)."""
    g = types.SimpleNamespace(dbengine=backend, sqlitepath=str(tmp_path / "dialer.sqlite"), mysqlhost="127.0.0.1",
                              mysqlport=3306, mysqluser="root", mysqlpassword="", mysqldatabase="dialer",
                              mysqlsocket=None)
    if mysql:
        g.mysqlhost, g.mysqlport = mysql["host"], mysql["port"]
        g.mysqluser, g.mysqlpassword, g.mysqldatabase = mysql["user"], mysql["password"], mysql["database"]
    return g


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
