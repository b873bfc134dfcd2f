"""Every documented setting round-trips through %config and through its environment variable."""

from __future__ import annotations

import pytest

from trt_magic import config
from trt_magic.errors import ConfigError

VALUES = {
    "image": ("my.registry/tensorrt:24.05-py3", '"my.registry/tensorrt:24.05-py3"'),
    "gpus": ("0,1", '"0,1"'),
    "backend": ("local", '"local"'),
    "workdir": ("/tmp/work", '"/tmp/work"'),
    "cache_dir": ("/tmp/cache", '"/tmp/cache"'),
    "opset": (17, "17"),
    "netron_url": ("https://hub/user/x/proxy/{port}/", '"https://hub/user/x/proxy/{port}/"'),
    "log_lines": (50, "50"),
    "cache_size_mb": (512, "512"),
}


def test_every_trait_is_documented_and_tested():
    traits = config.Settings.class_trait_names(config=True)
    assert sorted(traits) == sorted(config.ENV_VARS) == sorted(VALUES) == sorted(config.CHECKS)
    assert sorted(BAD_ENV) == sorted(traits)  # every variable has a value it must refuse
    for name in traits:
        assert config.Settings.class_traits()[name].help, name


def test_defaults(monkeypatch):
    for var in config.ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    s = config.Settings()
    assert s.image == "nvcr.io/nvidia/tensorrt:23.04-py3"
    assert s.backend == "auto"  # chosen from what the host has (runners/choice.py)
    assert s.gpus == "all"


@pytest.mark.parametrize("name", sorted(VALUES))
def test_env_var_round_trip(name, monkeypatch):
    value, _ = VALUES[name]
    monkeypatch.setenv(config.ENV_VARS[name], str(value))
    assert getattr(config.Settings(), name) == value


@pytest.mark.parametrize("name", sorted(VALUES))
def test_config_magic_round_trip(name, ipython_shell):
    value, literal = VALUES[name]
    ipython_shell.run_line_magic("config", f"TrtMagic.{name} = {literal}")
    assert getattr(config.get_settings(), name) == value


def test_config_lists_settings_with_help(ipython_shell, capsys):
    ipython_shell.run_line_magic("config", "TrtMagic")
    out = capsys.readouterr().out
    for name in VALUES:
        assert f"TrtMagic.{name}" in out


def test_bad_values_are_clear(monkeypatch):
    monkeypatch.setenv("TRT_MAGIC_OPSET", "seventeen")
    with pytest.raises(ConfigError, match="TRT_MAGIC_OPSET"):
        config.Settings().opset  # noqa: B018
    with pytest.raises(ConfigError, match="not one of"):
        config.Settings(backend="kubernetes")
    with pytest.raises(ConfigError, match="gpus"):
        config.Settings(gpus="gpu0")


def test_api_reads_extension_settings(ipython_shell):
    ipython_shell.run_line_magic("config", 'TrtMagic.image = "a/b:c"')
    assert config.get_settings().image == "a/b:c"
    ipython_shell.run_line_magic("unload_ext", "trt_magic")
    assert config.get_settings().image != "a/b:c"
    ipython_shell.run_line_magic("load_ext", "trt_magic")


BAD_ENV = {
    "image": "Bad Image:tag",
    "gpus": "two",
    "backend": "kubernetes",
    "workdir": "/etc/hostname",  # a file, not a folder
    "cache_dir": "/etc/hostname",
    "opset": "99",
    "netron_url": "https://hub/proxy/{prot}/",
    "log_lines": "-5",
    "cache_size_mb": "-1",
}


@pytest.mark.parametrize("name", sorted(BAD_ENV))
def test_bad_environment_fails_when_settings_load(name, monkeypatch):
    """A bad variable is refused when the settings are made (%load_ext, first API call), with a
    message naming the variable, not later and not silently."""
    for var in config.ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    var = config.ENV_VARS[name]
    monkeypatch.setenv(var, BAD_ENV[name])
    with pytest.raises(ConfigError, match=var) as info:
        config.Settings()
    assert info.value.hint.startswith(f"unset {var}")
    assert len(str(info.value).splitlines()) <= 2


def test_bad_environment_fails_at_load_ext(monkeypatch):
    from IPython.testing.globalipapp import get_ipython

    monkeypatch.setenv("TRT_MAGIC_GPUS", "two")
    shell = get_ipython()
    assert "trt_magic" not in shell.extension_manager.loaded
    with pytest.raises(ConfigError, match="TRT_MAGIC_GPUS"):
        shell.extension_manager.load_extension("trt_magic")
    assert "trt_magic" not in shell.extension_manager.loaded


@pytest.mark.parametrize(
    ("name", "value"),
    [("gpus", "0, 1"), ("gpus", "3"), ("opset", "0"), ("log_lines", "0"),
     ("netron_url", "{base_url}proxy/{port}/"), ("image", "localhost:5000/trt:dev")],
)  # fmt: skip
def test_good_environment_values_pass(name, value, monkeypatch):
    monkeypatch.setenv(config.ENV_VARS[name], value)
    got = getattr(config.Settings(), name)
    assert str(got) == value.replace(" ", "")


@pytest.mark.parametrize(
    ("name", "value"),
    [("gpus", "0,0"), ("opset", 5), ("log_lines", -1), ("netron_url", "http://x/{port"),
     ("image", "UPPER/case"), ("workdir", "/etc/hostname")],
)  # fmt: skip
def test_config_values_are_checked_alike(name, value):
    with pytest.raises(ConfigError, match=name):
        setattr(config.Settings(), name, value)
