"""Atomic writes and bounded reads (tinyrt.files), through the loaders and savers that use them."""
import io
import zipfile

import numpy as np
import pytest
from scipy.io import wavfile

import tinyrt
from tinyrt.audio import read_wav, write_wav
from tinyrt.bench import models as R
from tinyrt.files import load_npz, loads_json, write_json


@pytest.fixture
def model():
    return R.effect_model(np.random.default_rng(0), "lstm", 4)


def _archive(members: dict, compress=zipfile.ZIP_DEFLATED, encrypted=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compress
            zf.writestr(info, data)
    data = bytearray(buf.getvalue())
    if encrypted:  # zipfile cannot write encryption: set the flag bit in every local and central header
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature)
            while at >= 0:
                data[at + offset] |= 0x1
                at = data.find(signature, at + 4)
    return bytes(data)


def _parts(model, tmp_path):
    with zipfile.ZipFile(model.save(tmp_path / "good.tinyrt")) as zf:
        return zf.read("model.json"), zf.read("weights.npz")


def test_a_failed_save_leaves_the_existing_file_intact(model, tmp_path):
    path = model.save(tmp_path / "m.tinyrt")
    before = path.read_bytes()
    model.metadata["bad"] = np.zeros(3)  # not JSON
    with pytest.raises(tinyrt.ModelError, match="metadata cannot be saved as JSON"):
        model.save(path)
    assert path.read_bytes() == before and tinyrt.load(path).n_params == model.n_params
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tinyrt"]  # no temporary left behind


def test_writes_create_missing_folders_and_refuse_a_folder(model, tmp_path):
    assert tinyrt.load(model.save(tmp_path / "a" / "b" / "m.tinyrt")).name == model.name
    write_wav(tmp_path / "x" / "y.wav", np.zeros(10), 48000)
    with pytest.raises(tinyrt.InputError, match="is a folder; give a file name"):
        write_json(tmp_path / "a", {"k": 1})


def test_oversized_and_strange_archive_members_are_refused(model, tmp_path, monkeypatch):
    doc, weights = _parts(model, tmp_path)
    cases = {
        "encrypted": (_archive({"model.json": doc, "weights.npz": weights}, encrypted=True), "is encrypted"),
        "bzip2": (_archive({"model.json": doc, "weights.npz": weights}, compress=zipfile.ZIP_BZIP2),
                  "compression method 12"),
        "missing": (_archive({"model.json": doc}), "weights.npz is missing"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / f"{name}.tinyrt").write_bytes(data)
        with pytest.raises(tinyrt.FormatError, match=message):
            tinyrt.load(tmp_path / f"{name}.tinyrt")
    bomb = _archive({"model.json": doc + b" " * 200_000, "weights.npz": weights})
    (tmp_path / "bomb.tinyrt").write_bytes(bomb)
    assert len(bomb) < 20_000
    monkeypatch.setenv("TINYRT_MAX_JSON_BYTES", "100000")
    with pytest.raises(tinyrt.FormatError, match="model.json inflates to 200.* bytes, more than the limit of 100000"):
        tinyrt.load(tmp_path / "bomb.tinyrt")


def test_array_headers_are_checked_before_anything_is_allocated():
    huge = _archive({"w.npy": _header((10 ** 12,)) + b"\0" * 16})
    with pytest.raises(tinyrt.FormatError, match=r"declares 4000000000000 bytes \(shape \(1000000000000,\)\)"):
        load_npz(huge, "x")
    short = _archive({"w.npy": _header((8,)) + b"\0" * 16})
    with pytest.raises(tinyrt.FormatError, match=r"declares shape \(8,\) \(32 bytes\) but holds 16 bytes"):
        load_npz(short, "x")
    for dtype, word in (("<c8", "complex64"), ("|O", "object"), ("<U4", "<U4")):
        bad = _archive({"w.npy": _header((2,), dtype) + b"\0" * 32})
        with pytest.raises(tinyrt.FormatError, match=f"holds {word} values"):
            load_npz(bad, "x")
    ok = io.BytesIO()
    np.savez(ok, a=np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(load_npz(ok.getvalue(), "x")["a"], np.arange(6).reshape(2, 3))


def _header(shape, dtype="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_json_depth_and_size_are_bounded(tmp_path):
    deep = "[" * 900 + "]" * 900
    with pytest.raises(tinyrt.FormatError, match="nests deeper than 64 levels"):
        loads_json(deep, "deep.json")
    (tmp_path / "deep.json").write_text('{"layers": ' + "[" * 100 + "]" * 100 + ', "in_shape": [1]}')
    with pytest.raises(tinyrt.FormatError, match="nests deeper than 64 levels"):
        tinyrt.load(tmp_path / "deep.json")
    nested = []
    for _ in range(59):
        nested = [nested]
    assert loads_json("[" * 60 + "]" * 60, "ok") == nested


def test_truncated_and_empty_wavs_are_refused(tmp_path):
    path = tmp_path / "a.wav"
    wavfile.write(path, 48000, np.zeros(4800, np.float32))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 20])
    with pytest.raises(tinyrt.FormatError, match="the file is truncated"):
        read_wav(path)
    path.write_bytes(data[:30])
    with pytest.raises(tinyrt.FormatError, match="not a readable WAV file"):
        read_wav(path)
    wavfile.write(path, 48000, np.zeros(0, np.float32))
    with pytest.raises(tinyrt.FormatError, match="holds no samples"):
        read_wav(path)
