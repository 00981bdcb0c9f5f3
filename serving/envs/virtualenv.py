"""Environment managers: run a model in the interpreter it was saved for.

(What goes into an environment is read by :mod:`spec`.)

``local`` is the current interpreter. ``virtualenv`` builds an isolated environment
from the model's ``python_env.yaml`` and ``requirements.txt`` plus modelpack itself,
cached under ``~/.cache/modelpack/envs`` (``MODELPACK_ENV_CACHE``) by a hash of the
Python version, the requirements and the modelpack version. An environment is built
in a temporary directory and renamed into place, under a per-key file lock, so a
failed or concurrent build never leaves a broken entry. Nothing goes through a
shell: every command is an argument list.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from types import FrameType
from typing import Literal

from modelpack.errors import (
    DependencyMissing,
    EnvironmentBuildError,
    InvalidInput,
)
from modelpack.serving.envs.spec import EnvSpec, current_python, read_env_spec

EnvManager = Literal["local", "virtualenv"]
ENV_MANAGERS: tuple[EnvManager, ...] = ("local", "virtualenv")
CACHE_ENV = "MODELPACK_ENV_CACHE"
_MARKER = "modelpack-env.json"
_PIP_TIMEOUT_S = 1800
_LOCK_TIMEOUT_S = 1800
#: Runs the modelpack CLI with any interpreter that has modelpack installed. Pass it
#: after ``-I``: without it ``-c`` puts the working directory first on ``sys.path``,
#: and in a checkout that is the source ``modelpack/`` rather than the installed one.
CLI_BOOTSTRAP = "from modelpack.cli import main; main()"
#: Signals that end a job run by :func:`run_cli`; it passes each on to the job.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def env_cache_dir() -> Path:
    """Where environments are cached: ``$MODELPACK_ENV_CACHE`` or ``~/.cache/modelpack/envs``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "modelpack" / "envs"


def python_for_model(model_dir: Path) -> Path:
    """The Python executable of a cached virtualenv ready to run ``model_dir``.

    Built on first use (minutes), reused afterwards (milliseconds). Run the CLI in it
    with ``[*cli_command(python), "serve", ...]``.

    >>> python_for_model(Path("models/iris"))  # doctest: +SKIP
    PosixPath('/home/me/.cache/modelpack/envs/3f1c.../bin/python')
    """
    from modelpack.serving.envs.wheel import modelpack_wheel

    spec = read_env_spec(Path(model_dir))
    return build_env(spec, modelpack_wheel(env_cache_dir() / "wheels"))


def build_env(spec: EnvSpec, wheel: Path) -> Path:
    """The Python executable of the cached environment for ``spec`` with modelpack from
    ``wheel``; built (in a temporary directory, renamed into place) when missing.

    >>> build_env(EnvSpec("3.11", ("scikit-learn==1.9.1",)), Path("modelpack.whl"))  # doctest: +SKIP
    PosixPath('/home/me/.cache/modelpack/envs/3f1c.../bin/python')
    """
    from modelpack import __version__

    if importlib.util.find_spec("virtualenv") is None:
        raise DependencyMissing(
            "--env-manager virtualenv needs the virtualenv package: "
            "pip install 'modelpack[virtualenv]'"
        )
    cache = env_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentBuildError(
            f"cannot create the environment cache '{cache}': {exc.strerror}; set {CACHE_ENV}"
        ) from None
    key = spec.key(__version__)
    final = cache / key
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(cache / f"{key}.lock"), timeout=_LOCK_TIMEOUT_S):
            if not (final / _MARKER).is_file():
                shutil.rmtree(final, ignore_errors=True)  # a crashed build's leftovers
                _build(spec, final, wheel)
            elif json.loads((final / _MARKER).read_text()).get("wheel") != _wheel_id(wheel):
                _install_modelpack(final, wheel)
    except Timeout:
        raise EnvironmentBuildError(
            f"waited {_LOCK_TIMEOUT_S}s for another process building environment {key}"
        ) from None
    return _python_in(final)


def _python_in(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _interpreter(python: str) -> str:
    """The interpreter for ``python`` (major.minor): this one, or one virtualenv finds."""
    if python == current_python():
        return sys.executable
    from virtualenv.discovery.builtin import get_interpreter

    found = get_interpreter(f"python{python}", try_first_with=[])
    if found is None:
        raise EnvironmentBuildError(
            f"the model needs Python {python}, which is not installed on this machine; "
            f"install python{python} (e.g. 'uv python install {python}') or use "
            "--env-manager local"
        )
    return str(found.executable)


def _build(spec: EnvSpec, final: Path, wheel: Path) -> None:
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        interpreter = _interpreter(spec.python)
        _run(
            [sys.executable, "-m", "virtualenv", "--quiet", "--python", interpreter, str(tmp)],
            what="create the virtualenv",
        )
        python = str(_python_in(tmp))
        requirements = tmp / "modelpack-requirements.txt"
        requirements.write_text("".join(f"{r}\n" for r in spec.requirements))
        _pip(python, ["-r", str(requirements), str(wheel)], spec)
        (tmp / _MARKER).write_text(
            json.dumps(
                {
                    "python": spec.python,
                    "requirements": spec.requirements,
                    "wheel": _wheel_id(wheel),
                }
            )
        )
        _relocate(tmp, final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _install_modelpack(env: Path, wheel: Path) -> None:
    """Swap the environment's modelpack for ``wheel`` (same version, newer checkout)."""
    python = str(_python_in(env))
    _run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)],
        what="update modelpack in the environment",
    )
    marker = json.loads((env / _MARKER).read_text())
    marker["wheel"] = _wheel_id(wheel)
    (env / _MARKER).write_text(json.dumps(marker))


def _wheel_id(wheel: Path) -> str:
    """The wheel's content hash: the same wheel copied elsewhere is the same modelpack."""
    return hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]


def _relocate(tmp: Path, final: Path) -> None:
    """Point scripts written for ``tmp`` (shebangs, activate) at ``final``."""
    old, new = str(tmp).encode(), str(final).encode()
    for script in (tmp / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        content = script.read_bytes()
        if old in content and b"\x00" not in content[:1024]:
            script.write_bytes(content.replace(old, new))


_NOT_FOUND = re.compile(
    r"(?:No matching distribution found for|satisfies the requirement) (\S+)", re.IGNORECASE
)


def _pip(python: str, args: list[str], spec: EnvSpec) -> None:
    argv = [python, "-m", "pip", "install", "--quiet", "--progress-bar", "off", *args]
    try:
        _run(argv, what="install the model's requirements")
    except EnvironmentBuildError as exc:
        match = _NOT_FOUND.search(exc.message)
        if match:
            raise EnvironmentBuildError(
                f"the model's requirement '{match.group(1)}' cannot be installed: no matching "
                "distribution in the package index; fix requirements.txt or save the model "
                "again with requirements that exist"
            ) from None
        raise


def _run(argv: list[str], *, what: str) -> None:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(
            f"could not {what}: timed out after {_PIP_TIMEOUT_S}s"
        ) from None
    except OSError as exc:
        raise EnvironmentBuildError(f"could not {what}: {exc.strerror}") from None
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        detail = " / ".join(errors[-3:]) or (done.stderr.strip().splitlines() or ["?"])[-1]
        raise EnvironmentBuildError(f"could not {what}: {detail[:600]}")


def cli_command(python: str | os.PathLike[str]) -> list[str]:
    """The argv prefix that runs the modelpack CLI with ``python`` (no shell involved).

    >>> cli_command("/envs/x/bin/python")
    ['/envs/x/bin/python', '-I', '-c', 'from modelpack.cli import main; main()']
    """
    return [os.fspath(python), "-I", "-c", CLI_BOOTSTRAP]


def run_cli(python: str | os.PathLike[str], args: list[str]) -> int:
    """Run ``modelpack *args`` with ``python`` in a child process; return its exit status.

    Unlike ``os.execv`` (what ``serve`` does) this returns to the caller, so it works
    under ``CliRunner``; but then a signal to this process would end only this process
    and leave the job running, to write its output after the caller saw it end. So
    SIGINT, SIGTERM and SIGHUP are passed on to the child, which cleans up as usual,
    and this process waits for it. The child has its own process group so that a
    Ctrl-C reaches it once, from here: a second SIGINT straight from the terminal could
    cut its cleanup short. A child ended by signal N gives 128 + N, as a shell reports.

    >>> run_cli(sys.executable, ["--version"])  # doctest: +SKIP
    0
    """
    pending: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        if child is None:
            pending.append(signum)  # arrived before the child existed
        else:
            child.send_signal(signum)  # a no-op once the child has ended

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        # Arguments travel as a list straight to exec: no shell ever sees them.
        try:
            child = subprocess.Popen([*cli_command(python), *args], process_group=0)
        except OSError as exc:
            raise EnvironmentBuildError(
                f"cannot run the environment's Python '{python}': {exc.strerror}; "
                f"delete it from {env_cache_dir()} to rebuild it"
            ) from None
        for signum in pending:
            child.send_signal(signum)
        status = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - status if status < 0 else status


def command_for(model_dir: Path, env_manager: EnvManager) -> list[str]:
    """The argv prefix that runs the modelpack CLI for ``model_dir`` under ``env_manager``."""
    if env_manager not in ENV_MANAGERS:
        raise InvalidInput(f"env manager must be one of {', '.join(ENV_MANAGERS)}")
    python = sys.executable if env_manager == "local" else python_for_model(model_dir)
    return cli_command(python)


__all__ = [
    "CACHE_ENV",
    "CLI_BOOTSTRAP",
    "cli_command",
    "ENV_MANAGERS",
    "EnvManager",
    "FORWARDED_SIGNALS",
    "build_env",
    "command_for",
    "env_cache_dir",
    "python_for_model",
    "run_cli",
]
