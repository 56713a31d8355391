"""The ``hepjepa`` command line: one sub-command per module, imported only when used.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int``; its
docstring is the command's help text.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line summary). Modules load lazily so `hepjepa --help`
# does not pay for importing torch, numba or pythia.
COMMANDS: dict[str, tuple[str, str]] = {
    "selfcheck": ("hepjepa.bridge.selfcheck", "check the C++ ONNX Runtime bridge: ORT version and parity with Python onnxruntime"),
    "generate": ("hepjepa.generate.cli", "generate jets with Pythia 8 + FastJet (JetClass ROOT or NanoAOD-like output)"),
    "features": ("hepjepa.features.cli", "tokenise jets from a file and print group statistics"),
    "pretrain": ("hepjepa.train.pretrain_cli", "self-supervised JEPA pretraining (torchrun-compatible)"),
    "rank": ("hepjepa.train.rank_cli", "rank pretraining runs without labels (effective rank of held-out embeddings)"),
    "finetune": ("hepjepa.downstream.finetune_cli", "train a tagger head: frozen, fine-tuned or from scratch"),
    "evaluate": ("hepjepa.downstream.evaluate_cli", "metrics and plots of a tagger on a test set"),
    "probe": ("hepjepa.downstream.probe_cli", "linear probe on frozen embeddings"),
    "regress": ("hepjepa.downstream.regress_cli", "train the regression head: jet mass, soft-drop mass, tau21, tau32"),
    "export": ("hepjepa.deploy.export_cli", "export a tagger to model.onnx + preprocess.json"),
    "tag": ("hepjepa.analysis.tag_cli", "the main job: tag FatJets of NanoAOD-like files with coffea and plot"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: hepjepa [--debug] <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "`hepjepa <command> --help` shows a command's options; --debug shows the traceback of an input error."]
    return "\n".join(lines)


def _exit_on_sigterm() -> None:
    """``kill`` (SIGTERM) unwinds like Ctrl-C, so outputs being written atomically leave no temporary file.

    Only from the main thread of a command-line run; SIGKILL cannot be caught (the next writer of
    the same output removes what a killed one left, see ``hepjepa.atomic``).
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def one_line(exc: BaseException) -> str:
    """An error's message on one line (multi-line messages joined by '; ')."""
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """``hepjepa [--debug] <command> ...``: a user's mistake is one line on stderr and exit code 1."""
    from hepjepa.errors import user_errors

    argv = list(sys.argv[1:] if argv is None else argv)
    _exit_on_sigterm()
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from hepjepa import __version__

        print(__version__)
        return 0
    name = argv[0]
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"hepjepa: unknown command {name!r}{hint}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(
        prog=f"hepjepa {name}",
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except user_errors() as exc:
        if debug:
            raise
        print(f"hepjepa {name}: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hepjepa {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
