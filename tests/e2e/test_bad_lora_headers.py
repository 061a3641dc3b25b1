"""LoRA files with damaged headers exit 2 with one line (issue 12, point 5), read from the
header alone: no torch, no model."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import cli

TENSOR = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
GOOD = {"transformer.a.lora_A.weight": TENSOR, "transformer.a.lora_B.weight": TENSOR}


def _safetensors(path, header_text: str) -> None:
    raw = header_text.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 8)


CASES = {
    "metadata-list": json.dumps({**GOOD, "__metadata__": ["a"]}),
    "metadata-number": json.dumps({**GOOD, "__metadata__": 5}),
    "adapter-not-object": json.dumps({**GOOD, "__metadata__": {"lora_adapter_metadata": "[1]"}}),
    "adapter-not-json": json.dumps({**GOOD, "__metadata__": {"lora_adapter_metadata": "{x"}}),
    "adapter-not-text": json.dumps({**GOOD, "__metadata__": {"lora_adapter_metadata": 3}}),
    "adapter-deep": json.dumps({**GOOD, "__metadata__": {
        "lora_adapter_metadata": "[" * 100_000 + "]" * 100_000}}),
    "header-deep": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_lora_header_exits_2_with_one_line(tmp_path, capsys, case):
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "p.png")
    lora = tmp_path / "bad.safetensors"
    _safetensors(lora, CASES[case])
    code = cli.main(["decompose", str(tmp_path / "p.png"), "--box", "5,5,20,20", "--engine",
                     "flux", "--lora", str(lora), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "bad.safetensors" in err
    assert not (tmp_path / "out").exists()
