"""Re-create the hostile-file corpus beside this script: PYTHONPATH=src python tests/data/hostile/make_corpus.py.

Every file is small (< 50 kB); the manifest README.md says what each one is and what tinyrt must answer.
"""
import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np

from tinyrt.bench import models as R

HERE = Path(__file__).parent


def zip_bytes(members: dict, compress=zipfile.ZIP_DEFLATED, encrypted=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compress
            zf.writestr(info, data)
    data = bytearray(buf.getvalue())
    if encrypted:  # zipfile cannot encrypt: set the flag bit in every local and central header
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature)
            while at >= 0:
                data[at + offset] |= 0x1
                at = data.find(signature, at + 4)
    return bytes(data)


def npy(array=None, header=None, payload=b"") -> bytes:
    if header is None:
        buf = io.BytesIO()
        np.save(buf, array, allow_pickle=False)
        return buf.getvalue()
    text = header.ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + payload


def wav(channels=1, bits=16, tag=1, frames=32, rate=48000, data_bytes=None, riff_size=None, payload=None) -> bytes:
    block = channels * bits // 8
    payload = bytes((i * 37) & 0xFF for i in range(frames * block)) if payload is None else payload
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack(
        "<I", len(payload) if data_bytes is None else data_bytes) + payload
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def main():
    model = R.effect_model(np.random.default_rng(0), "lstm", 3)
    good = HERE / "_good.tinyrt"
    model.save(good)
    with zipfile.ZipFile(good) as zf:
        doc, weights = json.loads(zf.read("model.json")), zf.read("weights.npz")
        with zipfile.ZipFile(io.BytesIO(weights)) as wz:
            arrays = {n: wz.read(n) for n in wz.namelist()}
    good_bytes = good.read_bytes()
    good.unlink()
    first = sorted(arrays)[0]

    def tinyrt_file(doc_=None, arrays_=None, **kw):
        w = zip_bytes(arrays if arrays_ is None else arrays_)
        return zip_bytes({"model.json": json.dumps(doc if doc_ is None else doc_).encode(), "weights.npz": w}, **kw)

    def with_array(data):
        return {**arrays, first: data}

    files = {
        "encrypted.tinyrt": tinyrt_file(encrypted=True),
        "bzip2.tinyrt": tinyrt_file(compress=zipfile.ZIP_BZIP2),
        "zip_bomb.tinyrt": zip_bytes({"model.json": json.dumps(doc).encode() + b" " * 300_000,
                                      "weights.npz": weights}),
        "npy_40gb.tinyrt": tinyrt_file(arrays_=with_array(npy(header="{'descr': '<f4', 'fortran_order': False, "
                                                                     "'shape': (10000000000,), }"))),
        "npy_strings.tinyrt": tinyrt_file(arrays_=with_array(npy(np.array(["a", "bc"])))),
        "npy_complex.tinyrt": tinyrt_file(arrays_=with_array(npy(np.zeros(3, np.complex64)))),
        "npy_object_header.tinyrt": tinyrt_file(arrays_=with_array(npy(header="{'descr': '|O', 'fortran_order': "
                                                                              "False, 'shape': (2,), }"))),
        "npy_bad_header.tinyrt": tinyrt_file(arrays_=with_array(npy(header="{'descr': '<f4', 'shape': (1,"))),
        "npy_short_payload.tinyrt": tinyrt_file(arrays_=with_array(npy(header="{'descr': '<f4', 'fortran_order': "
                                                                              "False, 'shape': (1000,), }",
                                                                       payload=b"\0" * 8))),
        "json_900_deep.tinyrt": tinyrt_file(doc_=json.loads("[" * 900 + "]" * 900)),
        "gains_1e308.tinyrt": tinyrt_file(doc_={**doc, "layers": doc["layers"] + [
            {"type": "gain", "name": "", "params": {"features": doc["output_size"], "gain": 1e308}, "weights": []}]}),
        "input_size_1_7.tinyrt": tinyrt_file(doc_={**doc, "input_size": 1.7}),
        "input_size_string.tinyrt": tinyrt_file(doc_={**doc, "input_size": "one"}),
        "format_version_999.tinyrt": tinyrt_file(doc_={**doc, "format_version": 999}),
        "model_json_list.tinyrt": tinyrt_file(doc_=[1, 2]),
        "no_layers_key.tinyrt": tinyrt_file(doc_={k: v for k, v in doc.items() if k != "layers"}),
        "missing_weights.tinyrt": zip_bytes({"model.json": json.dumps(doc).encode()}),
        "truncated.tinyrt": good_bytes[: len(good_bytes) // 2],
        "damaged_deflate.tinyrt": good_bytes[:60] + bytes([good_bytes[60] ^ 0xFF]) + good_bytes[61:],
        "empty.tinyrt": b"",
        "text.tinyrt": b"this is not a zip archive\n",
        "json_900_deep.json": ("[" * 900 + "]" * 900).encode(),
        "json_top_list.json": b"[1, 2, 3]",
        "not_json.nam": b"{\"architecture\": \"LSTM\", \"weights\": [1, 2,",
        "nam_nan_weights.nam": b'{"version": "0.5.4", "architecture": "LSTM", "config": {"input_size": 1, '
                               b'"hidden_size": 1, "num_layers": 1}, "weights": [NaN, NaN, NaN, NaN, NaN, NaN, NaN, '
                               b'NaN, NaN, NaN, NaN, NaN, NaN, NaN], "sample_rate": 48000}',
        "nam_short_weights.nam": json.dumps({"version": "0.5.4", "architecture": "LSTM", "config": {
            "input_size": 1, "hidden_size": 3, "num_layers": 1}, "weights": [0.1] * 5}).encode(),
        "nam_unknown_architecture.nam": json.dumps({"architecture": "Quantum", "config": {},
                                                    "weights": []}).encode(),
        "rtneural_unknown_layer.json": json.dumps({"in_shape": [None, None, 1], "layers": [
            {"type": "warp", "shape": [None, None, 1], "weights": []}]}).encode(),
        "caml_unknown_unit.json": json.dumps({"model_data": {"model": "SimpleRNN", "input_size": 1, "skip": 0,
                                                             "output_size": 1, "unit_type": "Transformer",
                                                             "num_layers": 1, "hidden_size": 2, "bias_fl": True},
                                              "state_dict": {}}).encode(),
        "unknown_format.json": b'{"hello": "world"}',
        "truncated.wav": wav(frames=64)[:70],
        "zero_channels.wav": wav(channels=0),
        "zero_samples.wav": wav(frames=0),
        "no_fmt_chunk.wav": b"RIFF\x04\x00\x00\x00WAVE",
        "bits_12.wav": wav(bits=12, frames=8),
        "nan_samples.wav": wav(bits=32, tag=3, payload=np.full(16, np.nan, np.float32).tobytes()),
        "not_a_wav.wav": b"ID3\x03\x00 an mp3 pretending",
        "strings.npy": npy(np.array([["a", "b"]])),
        "complex.npy": npy(np.zeros((2, 2), np.complex64)),
        "object_header.npy": npy(header="{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }"),
        "header_40gb.npy": npy(header="{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }"),
        "scalar.npy": npy(np.float32(1.0)),
        "nan.csv": b"1,2\nnan,4\n",
        "words.csv": b"a,b\nc,d\n",
        "json_900_deep.toml": b"x = " + b"[" * 900 + b"]" * 900 + b"\n",
        "wrong_type.toml": b'[model]\nhidden_size = "four"\n',
        "unknown_key.toml": b'[data]\nvolume = 11\n',
        "not_toml.toml": b"[data\ninput = \n",
    }
    for name, data in files.items():
        assert len(data) < 50_000, name
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
