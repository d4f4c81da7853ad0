from crm.settings import database_config


def test_default_database_is_sqlite_with_wal_and_immediate_transactions():
    config = database_config(None)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"].endswith("onefold.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 5


def test_postgres_url_is_parsed():
    config = database_config("postgres://alice:pw@db.example:5433/crm")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 5433, "crm")
    assert "transaction_mode" not in config.get("OPTIONS", {})
