"""The ``pflow-geo`` command line: help texts, how errors are reported, and the ``inspect`` subcommand's exit status."""

from __future__ import annotations

import argparse

import pytest

from pflow_geo.cli import build_parser, main, run_reporting_errors
from pflow_geo.errors import InputError, MLTreeInputError, UsageError
from tests import mltree_factory as factory
from tests.cli_checks import run_module
from tests.mltree_factory import cluster, event, track


def subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """Return the parser of subcommand ``name``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise AssertionError("the parser has no subcommands")


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Return the options and positional arguments of a parser, without --help and subcommands."""
    return [
        action
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
    ]


def test_top_level_help_describes_every_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    assert exited.value.code == 0
    assert "inspect" in help_text
    assert "check an MLTree file: trees, branches, entries, units and known pitfalls" in help_text
    for action in options(build_parser()):
        assert action.help, action.option_strings
        assert action.option_strings[0] in help_text


def test_inspect_help_describes_every_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["inspect", "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    assert exited.value.code == 0
    actions = options(subparser(build_parser(), "inspect"))
    assert [action.dest for action in actions] == ["file", "cell_geo", "events", "truth_energy_unit", "json"]
    for action in actions:
        assert action.help, action.dest
        assert " ".join(action.help.replace("%(default)s", str(action.default)).split()) in help_text
    assert "Exits with status 0 when the file is usable and 1 when it is not." in help_text


@pytest.mark.parametrize(
    ("option", "expected_words"),
    [("--events", "number of events"), ("--truth-energy-unit", "energy unit"), ("--cell-geo", "ROOT file")],
)
def test_inspect_help_states_quantity(option, expected_words):
    actions = {action.option_strings[0]: action for action in options(subparser(build_parser(), "inspect")) if action.option_strings}
    assert expected_words in actions[option].help


@pytest.mark.parametrize(("value", "message"), [("0", "expected at least 1 event, got 0"), ("ten", "expected a whole number of events, got 'ten'")])
def test_inspect_rejects_bad_events(capsys, value, message):
    with pytest.raises(SystemExit) as exited:
        main(["inspect", "file.root", "--events", value])

    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_inspect_process_exit_status(tmp_path):
    usable = factory.write_events(tmp_path / "usable.root", [event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])])
    missing = tmp_path / "missing.root"

    good = run_module("inspect", str(usable))
    bad = run_module("inspect", str(missing))

    assert good.returncode == 0, good.stderr
    assert good.stdout.rstrip().endswith("result: usable")
    assert bad.returncode == 1
    assert bad.stderr.startswith(f"error: file not found\n    file: {missing}\n")
    assert "Traceback" not in bad.stderr


def test_top_level_help_states_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 on success; 1 when an input file cannot be used" in help_text
    assert "2 for invalid options or option combinations" in help_text
    assert "-v logs the traceback too" in help_text


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (UsageError("--events 0 is too few"), 2, "error: --events 0 is too few\n"),
        (InputError("the split has no cells"), 1, "error: the split has no cells\n"),
        (MLTreeInputError("x.root", "file not found", hint="check the path"), 1, "error: file not found\n    file: x.root\n    fix:  check the path\n"),
        (FileNotFoundError("input file(s) not found: x.root"), 1, "error: input file(s) not found: x.root\n"),
        (PermissionError("cannot write out/metrics.json"), 1, "error: cannot write out/metrics.json\n"),
        (IsADirectoryError("--output: out is a directory"), 1, "error: --output: out is a directory\n"),
    ],
)
def test_expected_errors_become_message_and_status(capsys, error, status, message):
    def command():
        raise error

    assert run_reporting_errors(command) == status
    output = capsys.readouterr()
    assert output.err == message
    assert output.out == ""


def test_unexpected_error_propagates():
    def command():
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_reporting_errors(command)


def test_command_status_passes_through():
    assert run_reporting_errors(lambda: None) == 0
    assert run_reporting_errors(lambda: 1) == 1


def test_path_under_file_exits_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    usable = factory.write_events(tmp_path / "usable.root", [event(1, tracks=[track(5.0, 0.1, 0.2)], clusters=[cluster([101], [0.5], [[0]], [[400.0]])])])

    status = main(["process", str(usable), "--root", str(blocker / "data")])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: [Errno 20] Not a directory: ")
    assert str(blocker) in err
    assert "Traceback" not in err
