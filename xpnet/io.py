"""Atomic file writing: a temporary file in the target folder, then ``os.replace``.

The temporary file is named ``.<name>.<pid>.<random>.tmp``: a writer killed mid-write (SIGKILL, power
loss) leaves it behind, and the next :func:`write_atomic` or :func:`remove_stale_temps` of the same
target removes every such file whose writing process is gone (never one a live process still writes).
"""
from __future__ import annotations

import os
import pathlib
import re
import tempfile


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return False
    return True


def remove_stale_temps(path) -> list:
    """Remove the temporary files of earlier, killed writes of ``path``; returns the removed paths.
    A temporary file whose writing process is still alive is kept.

    >>> import os, subprocess, sys, tempfile
    >>> from xpnet.io import remove_stale_temps
    >>> folder = tempfile.mkdtemp()
    >>> gone = subprocess.Popen([sys.executable, "-c", "pass"]); _ = gone.wait()   # a finished process
    >>> open(os.path.join(folder, f".model.npz.{gone.pid}.abc.tmp"), "w").close()  # its half-written file
    >>> [p.name for p in remove_stale_temps(os.path.join(folder, "model.npz"))] == [f".model.npz.{gone.pid}.abc.tmp"]
    True
    """
    path = pathlib.Path(path)
    folder = path.parent
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[^.]+\.tmp$")
    removed = []
    for entry in folder.iterdir():
        m = pattern.match(entry.name)
        if m and not _pid_alive(int(m.group(1))):
            try:
                entry.unlink()
                removed.append(entry)
            except FileNotFoundError:
                pass
    return removed


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path, data) -> pathlib.Path:
    """Write ``data`` (str or bytes) to ``path`` so readers see the old file or the whole new one
    (a temporary file in the same folder, ``fsync``, then ``os.replace``); creates missing folders and
    returns the path.

    >>> import os, tempfile
    >>> from xpnet.io import write_atomic
    >>> path = write_atomic(os.path.join(tempfile.mkdtemp(), "runs", "note.txt"), "hello")
    >>> path.read_text(), sorted(os.listdir(path.parent))
    ('hello', ['note.txt'])
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"write: {path} is a folder; expected a file path such as {path / 'model.npz'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would survive the rename
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
