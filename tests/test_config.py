"""Settings: stack config, environment fallback, defaults and rejected values."""

from __future__ import annotations

import pytest

from alpharun_provider.config import (
    DEFAULT_API_URL,
    MISSING_KEY_MESSAGE,
    Settings,
    resolve_settings,
)
from alpharun_provider.errors import ConfigurationError


def test_defaults_without_config() -> None:
    settings = resolve_settings({}, environ={})
    assert settings == Settings()
    assert settings.api_url == DEFAULT_API_URL


def test_stack_config_wins_over_environment() -> None:
    settings = resolve_settings(
        {"alpharun:apiKey": "from-config"},
        environ={"ALPHARUN_API_KEY": "from-env"},
    )
    assert settings.api_key == "from-config"


def test_environment_fills_missing_config() -> None:
    settings = resolve_settings(
        {"alpharun:timeout": "12"},
        environ={"ALPHARUN_API_URL": "http://127.0.0.1:9/api/v1/"},
    )
    assert settings.api_url == "http://127.0.0.1:9/api/v1"
    assert settings.timeout == 12.0


def test_empty_config_value_falls_back() -> None:
    settings = resolve_settings(
        {"alpharun:apiKey": ""}, environ={"ALPHARUN_API_KEY": "from-env"}
    )
    assert settings.api_key == "from-env"


def test_config_get_function_accepted() -> None:
    values = {"alpharun:maxAttempts": "3"}
    assert resolve_settings(values.get, environ={}).max_attempts == 3


def test_connect_timeout_capped() -> None:
    assert Settings(timeout=60).connect_timeout == 10.0
    assert Settings(timeout=4).connect_timeout == 4.0


def test_missing_key_names_command() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings().require_api_key()
    assert str(caught.value) == MISSING_KEY_MESSAGE
    assert "pulumi config set --secret alpharun:apiKey <key>" in str(caught.value)


def test_key_whitespace_is_stripped() -> None:
    settings = resolve_settings({"alpharun:apiKey": "  sk-abc\n"}, environ={})
    assert settings.api_key == "sk-abc"


@pytest.mark.parametrize("key", ["sk-a b", "sk-\x00", "sk-\u00e9"])
def test_key_bad_characters_rejected(key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({"alpharun:apiKey": key}, environ={})
    assert key not in str(caught.value)
    assert "Invalid alpharun:apiKey" in str(caught.value)


def test_settings_repr_hides_key() -> None:
    assert "sk-secret" not in repr(Settings(api_key="sk-secret"))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("alpharun:timeout", "abc"),
        ("alpharun:timeout", "0"),
        ("alpharun:timeout", "-5"),
        ("alpharun:timeout", "nan"),
        ("alpharun:timeout", "1e10"),
        ("alpharun:maxAttempts", "2.5"),
        ("alpharun:maxAttempts", "1000"),
        ("alpharun:maxRetryTime", "inf"),
    ],
)
def test_bad_numbers_rejected(key: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({key: value}, environ={})
    assert f"Invalid {key}" in str(caught.value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.alpharun.com/api/v1",
        "http://127.0.0.1:8080/api/v1",
        "http://127.8.9.1/api/v1",
        "http://localhost:8080/api/v1",
        "http://localhost.:8080/api/v1",
        "http://[::1]:8080/api/v1",
        "http://[::ffff:127.0.0.1]:8080/api/v1",
    ],
)
def test_api_url_accepted(url: str) -> None:
    assert resolve_settings({"alpharun:apiUrl": url}, environ={}).api_url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://api.alpharun.com/api/v1", "plain http"),
        ("http://10.0.0.5/api/v1", "plain http"),
        ("ftp://api.alpharun.com", "expected an absolute https URL"),
        ("api.alpharun.com/api/v1", "expected an absolute https URL"),
        ("https://api.alpharun.com/api/v1?x=1", "without query"),
        ("http://[::1", "expected an absolute https URL"),
        ("https://api.alpharun.com:99999/api/v1", "expected an absolute https URL"),
    ],
)
def test_api_url_rejected(url: str, reason: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({"alpharun:apiUrl": url}, environ={})
    assert reason in str(caught.value)
