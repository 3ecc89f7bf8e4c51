"""`file`/`import`: formats, validation, rejected lines, dedupe, exit statuses."""
import pytest

from tests.conftest import run_dialer


@pytest.fixture
def conf(dialer_conf):
    path = dialer_conf()
    run_dialer("-c", "camp", "-a", "create", config=path, check=0)
    return path


def leads(conf):
    """(phone, param, timezone) of every lead, in id order."""
    import csv
    import io
    out = run_dialer("-c", "camp", "-a", "dump", config=conf, check=0).stdout
    return [(r[1], r[8], r[12]) for r in csv.reader(io.StringIO(out))]


def load(conf, tmp_path, data, *extra, status=0):
    path = tmp_path / "list.txt"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    proc = run_dialer("-c", "camp", "-a", "file", "-p", path, *extra, config=conf)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc, path


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings_separators_bom(conf, tmp_path, eol):
    data = b"\xef\xbb\xbf" + eol.join([b"0102030405,a", b"0102030406;b", b"0102030407\tc", b"+33 1 02-03.04 (08)",
                                       b"", b"0102030409,\"x, y\""]) + eol
    proc, _ = load(conf, tmp_path, data)
    assert "imported 5, rejected 0, duplicates skipped 0" in proc.stdout
    assert leads(conf) == [("0102030405", "a", ""), ("0102030406", "b", ""), ("0102030407", "c", ""),
                           ("+33102030408", "", ""), ("0102030409", "x, y", "")]


def test_header_with_zone_columns(conf, tmp_path):
    proc, _ = load(conf, tmp_path, "Phone;Param;Timezone;Zipcode\n0102030405;a;Europe/Paris;75001\n"
                                   "0102030406;b;;\n")
    assert "imported 2" in proc.stdout
    assert leads(conf) == [("0102030405", "a", "Europe/Paris"), ("0102030406", "b", "")]


def test_rejected_lines_are_written_with_number_and_reason(conf, tmp_path):
    data = ("0102030405,ok\n"
            "12ab,letters\n"
            "12,too short\n"
            "0102030406,tab\tinside\n"
            "0102030407," + "x" * 300 + "\n"
            "0102030408,\"unbalanced\n"
            "0102030409,fine\n")
    proc, path = load(conf, tmp_path, data, status=1)
    assert "imported 2, rejected 5" in proc.stdout and "list.txt.rejected" in proc.stdout
    rej = (tmp_path / "list.txt.rejected").read_text().splitlines()
    assert [r.split(":")[0] for r in rej] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "not a number" in rej[0] and "control character" in rej[2] and "300 characters" in rej[3]
    assert "quote" in rej[4]
    assert [p for p, _, _ in leads(conf)] == ["0102030405", "0102030409"]


def test_invalid_utf8_is_rejected_not_fatal(conf, tmp_path):
    proc, _ = load(conf, tmp_path, b"0102030405,caf\xe9\n0102030406,caf\xc3\xa9\n", status=1)
    assert "imported 1, rejected 1" in proc.stdout
    assert leads(conf) == [("0102030406", "café", "")]


def test_nothing_valid_imports_nothing_and_exits_2(conf, tmp_path):
    proc, _ = load(conf, tmp_path, "abc\nxyz\n", status=2)
    assert "imported 0, rejected 2" in proc.stdout
    assert leads(conf) == []
    load(conf, tmp_path, "", status=2)


def test_dedupe_skips_numbers_already_there(conf, tmp_path):
    load(conf, tmp_path, "0102030405\n0102030406\n")
    proc, _ = load(conf, tmp_path, "0102030405\n0102030407\n0102030407\n", "--dedupe")
    assert "imported 1, rejected 0, duplicates skipped 2" in proc.stdout
    proc, _ = load(conf, tmp_path, "0102030405\n")   # without --dedupe duplicates are allowed
    assert [p for p, _, _ in leads(conf)] == ["0102030405", "0102030406", "0102030407", "0102030405"]


def test_bad_header_column_is_one_line(conf, tmp_path):
    proc, _ = load(conf, tmp_path, "phone,param,color\n0102030405,a,red\n", status=2)
    assert proc.stderr.strip().count("\n") == 0 and "unknown column 'color'" in proc.stderr


def test_stale_rejected_file_is_removed(conf, tmp_path):
    load(conf, tmp_path, "0102030405\nbad\n", status=1)
    assert (tmp_path / "list.txt.rejected").exists()
    load(conf, tmp_path, "0102030405\n")
    assert not (tmp_path / "list.txt.rejected").exists()


def test_large_file_in_one_transaction(conf, tmp_path):
    n = 50_000
    proc, _ = load(conf, tmp_path, "".join(f"06{i:08d},p{i}\n" for i in range(n)) + "oops\n", status=1)
    assert f"imported {n}, rejected 1" in proc.stdout
    assert run_dialer("-c", "camp", "-a", "count", config=conf, check=0).stdout == f"{n}\n"


def test_progress_bar_on_a_terminal(conf, tmp_path):
    """On a TTY a large import shows a progress bar; the summary line is always there."""
    import shlex
    import shutil
    import subprocess
    import sys
    if not shutil.which("script"):
        pytest.fail("util-linux `script` is needed to give the command a terminal")
    path = tmp_path / "big.txt"
    path.write_text("".join(f"07{i:08d},some parameter text {i}\n" for i in range(200_000)))
    cmd = " ".join(shlex.quote(str(a)) for a in
                   (sys.executable, "-m", "dialer.cli", "-C", conf, "-c", "camp", "-a", "file", "-p", path))
    proc = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout
    assert "100.0%" in proc.stdout and "#" * 40 in proc.stdout
    assert "imported 200000, rejected 0" in proc.stdout


def test_params_round_trip_exactly(conf, tmp_path):
    params = ["C:\\dir\\n\\t", "naïve ünïcödé 電話", "quote \"inside\" it", "\\N", "semi;colon,comma"]
    data = "".join(f"06000000{i:02d},{p}\n" if '"' not in p else f'06000000{i:02d},"{p.replace(chr(34), chr(34) * 2)}"\n'
                   for i, p in enumerate(params))
    proc, _ = load(conf, tmp_path, data)
    assert f"imported {len(params)}, rejected 0" in proc.stdout
    assert [prm for _, prm, _ in leads(conf)] == params
