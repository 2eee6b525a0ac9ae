"""Dataset files under faults: OS-level failures are one line, exports are all or nothing."""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path

import factories as f
import pytest
from click.testing import CliRunner

from usagekit.cli.main import main as cli
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.datasets._conversations import MAX_LINE_BYTES
from usagekit.mock.datasets._fileio import os_reason
from usagekit.mock.datasets._lines import MAX_ID_BYTES
from usagekit.mock.datasets.files import (
    ACCOUNTS_FILE,
    CONVERSATIONS_FILE,
    load_dataset,
    save_dataset,
)

ROOT = os.geteuid() == 0


def dataset_dir(tmp_path: Path, lines: list[str] | None = None) -> Path:
    folder = tmp_path / "data"
    save_dataset(f.dataset([f.conversation("2024-03-01T12:00:00Z", 30)]), folder)
    if lines is not None:
        (folder / CONVERSATIONS_FILE).write_text("".join(f"{line}\n" for line in lines))
    return folder


def line(conversation_id: str = "c-1", duration: str = "60") -> str:
    return (
        f'{{"conversation_id":"{conversation_id}","account_id":"{f.PARENT}","agent_id":null,'
        f'"type":"phone","direction":"inbound","status":"completed",'
        f'"start_timestamp":"2024-03-01T12:00:00Z","duration_seconds":{duration}}}'
    )


def refused(folder: Path) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        load_dataset(folder)
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


@pytest.mark.parametrize("name", [ACCOUNTS_FILE, CONVERSATIONS_FILE])
def test_a_symlink_loop_is_named(tmp_path: Path, name: str) -> None:
    folder = dataset_dir(tmp_path)
    (folder / name).unlink()
    (folder / name).symlink_to(folder / name)
    error = refused(folder)
    assert error.path == str(folder / name)
    assert "symbolic link loop" in str(error)


@pytest.mark.parametrize("name", [ACCOUNTS_FILE, CONVERSATIONS_FILE])
def test_a_directory_in_place_of_a_file_is_named(tmp_path: Path, name: str) -> None:
    folder = dataset_dir(tmp_path)
    (folder / name).unlink()
    (folder / name).mkdir()
    assert "directory" in str(refused(folder))


@pytest.mark.skipif(ROOT, reason="root reads any file whatever its mode")
@pytest.mark.parametrize("name", [ACCOUNTS_FILE, CONVERSATIONS_FILE])
def test_an_unreadable_file_is_named(tmp_path: Path, name: str) -> None:
    folder = dataset_dir(tmp_path)
    (folder / name).chmod(0)
    assert "permission denied" in str(refused(folder))


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        (OSError(errno.ELOOP, "Too many levels of symbolic links"), "a symbolic link loop"),
        (OSError(errno.EIO, "Input/output error"), "input/output error"),
    ],
)
def test_os_errors_read_as_one_reason(error: OSError, reason: str) -> None:
    assert os_reason(error) == reason


@pytest.mark.parametrize("name", [ACCOUNTS_FILE, CONVERSATIONS_FILE])
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_unread(tmp_path: Path, name: str, device: str) -> None:
    folder = dataset_dir(tmp_path)
    (folder / name).unlink()
    (folder / name).symlink_to(device)
    assert "character device, not a regular file" in str(refused(folder))


@pytest.mark.parametrize("name", [ACCOUNTS_FILE, CONVERSATIONS_FILE])
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, name: str) -> None:
    folder = dataset_dir(tmp_path)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    assert "FIFO" in str(refused(folder))


def test_a_dangling_symlink_is_no_such_file(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path)
    (folder / CONVERSATIONS_FILE).unlink()
    (folder / CONVERSATIONS_FILE).symlink_to(tmp_path / "gone")
    assert "no such file" in str(refused(folder))


def test_an_oversize_accounts_file_is_refused_unread(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path)
    with (folder / ACCOUNTS_FILE).open("r+b") as out:
        out.truncate(65 * 2**20)  # sparse: no disk used
    assert "at most" in str(refused(folder))


def test_a_line_of_zeros_without_newline_is_refused_at_its_line(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path)
    with (folder / CONVERSATIONS_FILE).open("r+b") as out:
        out.truncate(8 * 2**20)  # a sparse file of NUL bytes, as /dev/zero would give
    error = refused(folder)
    assert error.line == 2  # after the one record save_dataset wrote
    assert f"{MAX_LINE_BYTES:,} bytes" in str(error)


def test_five_thousand_digits_of_duration_are_refused_unread(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path, [line(), line("c-2", "9" * 5_000)])
    error = refused(folder)
    assert error.line == 2


def test_a_number_past_the_digit_limit_within_the_line_cap_is_a_clean_error(tmp_path) -> None:
    # 4,301 digits fit no line; the check still holds should the line cap grow.
    folder = dataset_dir(tmp_path, [line(), line("c-2", "9" * 2_000 + ".5")])
    assert refused(folder).line == 2


@pytest.mark.parametrize("size", [MAX_ID_BYTES + 1, 100_000, 50 * 2**20])
def test_a_huge_conversation_id_is_refused_before_any_column_is_sized(tmp_path, size) -> None:
    lines = [line(f"c-{i}") for i in range(2_000)] + [line("x" * size)]
    folder = dataset_dir(tmp_path, lines)
    error = refused(folder)
    assert error.line == 2_001


def test_an_id_at_the_cap_loads(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path, [line("x" * MAX_ID_BYTES), line("y")])
    assert len(load_dataset(folder).conversations) == 2


def test_the_cli_prints_one_line_for_a_loop(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path)
    (folder / ACCOUNTS_FILE).unlink()
    (folder / ACCOUNTS_FILE).symlink_to(folder / ACCOUNTS_FILE)
    result = CliRunner().invoke(cli, ["dataset", "validate", str(folder)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "symbolic link loop" in result.output


# -- export: all or nothing ------------------------------------------------------------

_EXPORT_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
from usagekit.mock.datasets import synthetic
from usagekit.mock.datasets.files import save_dataset
data = synthetic.generate(seed=3, now=1_700_000_000_000_000, size=20_000, days=30)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
try:
    save_dataset(data, sys.argv[1])
except OSError as exc:
    print(type(exc).__name__, exc.errno)
    sys.exit(3)
"""


def export_failing(target: Path) -> None:
    """Export into ``target`` in a process whose writes fail past 200 kB (EFBIG)."""
    result = subprocess.run(
        [sys.executable, "-c", _EXPORT_UNDER_A_FILE_SIZE_LIMIT, str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3, result.stderr


def test_a_failed_export_leaves_the_previous_dataset_whole_and_nothing_behind(
    tmp_path: Path,
) -> None:
    folder = dataset_dir(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    export_failing(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert len(load_dataset(folder).conversations) == 1


def test_the_staging_directory_of_a_killed_export_is_removed_by_the_next(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    (folder / f".usagekit-export-{dead}-abc" / "x").mkdir(parents=True)  # killed mid-export
    (folder / f".usagekit-export-{os.getpid()}-def").mkdir()  # an export still running
    save_dataset(load_dataset(folder), folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        f".usagekit-export-{os.getpid()}-def",
        ACCOUNTS_FILE,
        CONVERSATIONS_FILE,
    ]


def test_an_export_swaps_its_two_files_while_no_load_reads_them(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path)
    other = f.dataset([f.conversation("2024-03-01T12:00:00Z", n) for n in (1, 2)])
    reading = os.open(folder, os.O_RDONLY)
    fcntl.flock(reading, fcntl.LOCK_SH)  # a load is reading the files
    export = threading.Thread(target=save_dataset, args=(other, folder))
    export.start()
    export.join(0.5)
    assert export.is_alive()  # written, and waiting to swap them in
    assert len(load_dataset(folder).conversations) == 1  # other loads read the old pair
    os.close(reading)
    export.join(10)
    assert len(load_dataset(folder).conversations) == 2
    writing = os.open(folder, os.O_RDONLY)
    fcntl.flock(writing, fcntl.LOCK_EX)  # an export is swapping the files
    found: list[int] = []
    load = threading.Thread(target=lambda: found.append(len(load_dataset(folder).conversations)))
    load.start()
    load.join(0.5)
    assert load.is_alive()
    assert not found
    os.close(writing)
    load.join(10)
    assert found == [2]


def test_a_failed_export_into_a_new_directory_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new" / "data"
    export_failing(target)
    assert not target.exists()
    assert list((tmp_path / "new").iterdir()) == []


def test_an_export_replaces_both_files_and_keeps_other_files(tmp_path: Path) -> None:
    folder = dataset_dir(tmp_path)
    (folder / "notes.txt").write_text("mine")
    save_dataset(f.dataset([]), folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        ACCOUNTS_FILE,
        CONVERSATIONS_FILE,
        "notes.txt",
    ]
    assert len(load_dataset(folder).conversations) == 0


@pytest.mark.parametrize("where", [2, 5_000, 20_000])
@pytest.mark.parametrize("final_newline", [True, False])
def test_a_line_one_byte_too_long_is_refused_at_its_line_one_shorter_is_read(
    tmp_path: Path, where: int, final_newline: bool
) -> None:
    # Padding inside the id's string keeps the line valid JSON up to the cap.
    def padded(n: int, length: int) -> str:
        text = line(f"c-{n}")
        return text.replace(f'"c-{n}"', f'"c-{n}{" " * (length - len(text))}"')

    rows = [line(f"c-{n}") for n in range(1, 20_001)]  # past one read block
    rows[where - 1] = padded(where, MAX_LINE_BYTES)
    folder = dataset_dir(tmp_path, rows)
    path = folder / CONVERSATIONS_FILE
    if not final_newline:
        path.write_bytes(path.read_bytes()[:-1])
    error = refused(folder)  # the id is longer than MAX_ID_BYTES, but not too long a line
    assert (error.line, error.field) == (where, "conversation_id")
    rows[where - 1] = padded(where, MAX_LINE_BYTES + 1)
    path.write_text("\n".join(rows) + ("\n" if final_newline else ""))
    error = refused(folder)
    assert error.line == where
    assert f"longer than {MAX_LINE_BYTES:,} bytes" in str(error)
